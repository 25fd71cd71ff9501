//! Windows only: the token file's content sealed with DPAPI (`CryptProtectData`), bound to the
//! Windows account that saves it.
//!
//! User scope (no `CRYPTPROTECT_LOCAL_MACHINE`): only a process running as the same account, on
//! the same machine, can unseal the blob, so a service account's tokens stay unreadable to other
//! accounts even if the file's ACL is too open. `CRYPTPROTECT_UI_FORBIDDEN`: a service has no
//! desktop to prompt on. No optional entropy: it would be a constant in this binary, not a secret.
//!
//! This is the only `unsafe` code under `src/`; it is compiled and tested by the release
//! workflow's Windows job (`.github/workflows/release.yml`, `cargo test --workspace --lib`).

use std::io;
use std::ptr;
use windows_sys::Win32::Foundation::LocalFree;
use windows_sys::Win32::Security::Cryptography::{
    CryptProtectData, CryptUnprotectData, CRYPTPROTECT_UI_FORBIDDEN, CRYPT_INTEGER_BLOB,
};

/// Takes the bytes DPAPI allocated in `blob` and frees them with `LocalFree`, as the API requires.
/// `wipe` overwrites them first (for plaintext).
///
/// # Safety
/// `blob` must be the output of a successful `CryptProtectData`/`CryptUnprotectData` call.
unsafe fn take(blob: CRYPT_INTEGER_BLOB, wipe: bool) -> Vec<u8> {
    if blob.pbData.is_null() {
        return Vec::new();
    }
    let len = blob.cbData as usize;
    let out = std::slice::from_raw_parts(blob.pbData, len).to_vec();
    if wipe {
        ptr::write_bytes(blob.pbData, 0, len);
    }
    LocalFree(blob.pbData.cast());
    out
}

fn input(data: &[u8]) -> io::Result<CRYPT_INTEGER_BLOB> {
    let len = u32::try_from(data.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "data too large for DPAPI"))?;
    Ok(CRYPT_INTEGER_BLOB {
        cbData: len,
        // DPAPI only reads the input; the API type is `*mut` for historical reasons.
        pbData: data.as_ptr().cast_mut(),
    })
}

/// Seals `plain` for the current Windows account.
pub(crate) fn protect(plain: &[u8]) -> io::Result<Vec<u8>> {
    let data_in = input(plain)?;
    let mut data_out = CRYPT_INTEGER_BLOB {
        cbData: 0,
        pbData: ptr::null_mut(),
    };
    // SAFETY: every pointer is either null (optional arguments) or points to a live, correctly
    // sized blob; the output is freed by `take`.
    let ok = unsafe {
        CryptProtectData(
            &data_in,
            ptr::null(),
            ptr::null(),
            ptr::null(),
            ptr::null(),
            CRYPTPROTECT_UI_FORBIDDEN,
            &mut data_out,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the call succeeded, so `data_out` holds a LocalAlloc'ed buffer of `cbData` bytes.
    Ok(unsafe { take(data_out, false) })
}

/// Unseals a blob that [`protect`] made. Fails when another account (or another machine) sealed
/// it, or when it was altered: the OS error says which.
pub(crate) fn unprotect(sealed: &[u8]) -> io::Result<Vec<u8>> {
    let data_in = input(sealed)?;
    let mut data_out = CRYPT_INTEGER_BLOB {
        cbData: 0,
        pbData: ptr::null_mut(),
    };
    // SAFETY: as in `protect`; the description output is not requested (null).
    let ok = unsafe {
        CryptUnprotectData(
            &data_in,
            ptr::null_mut(),
            ptr::null(),
            ptr::null(),
            ptr::null(),
            CRYPTPROTECT_UI_FORBIDDEN,
            &mut data_out,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the call succeeded; the plaintext is wiped before it is freed.
    Ok(unsafe { take(data_out, true) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_blob_round_trips_and_hides_the_plaintext() {
        let plain = b"{\"refresh_token\":\"rt-dpapi-test\"}";
        let sealed = protect(plain).unwrap();
        assert!(!sealed.windows(plain.len()).any(|w| w == plain));
        assert_eq!(unprotect(&sealed).unwrap(), plain);
    }

    #[test]
    fn an_altered_blob_is_refused() {
        let mut sealed = protect(b"secret").unwrap();
        let last = sealed.len() - 1;
        sealed[last] ^= 0xff;
        assert!(unprotect(&sealed).is_err());
        assert!(unprotect(b"not a dpapi blob").is_err());
    }
}
