/* Wine 8 (Debian 12's wine64) has no bcryptprimitives.dll, whose ProcessPrng Rust's standard
 * library calls for random bytes on Windows (HashMap keys and the like). This stand-in is loaded
 * from the test executable's folder under Wine only (scripts/windows-tests.sh); it is never
 * shipped. It forwards to RtlGenRandom (advapi32's SystemFunction036), which Wine implements. */
#include <windows.h>

BOOLEAN NTAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
