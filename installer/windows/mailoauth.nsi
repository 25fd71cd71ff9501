; mailoauth's Windows installer (NSIS 3), built by scripts/windows-installer.sh with makensis
; from the x86_64-pc-windows-gnu executables: here from the debug ones (scripts/windows-tests.sh
; installs it under Wine), in the release workflow from the release ones, on a Linux runner.
;
; What it does, and what it leaves to mailoauth.exe itself:
;   - puts mailoauth-app.exe (the wizard, with WebView2Loader.dll) and uninstall.exe in
;     $PROGRAMFILES64\mailoauth; the folder is fixed, because the service runs only a binary
;     below %ProgramFiles%, which only Administrators can write (src/service/install/mod.rs);
;   - `mailoauth.exe service install`, run from the installer's temporary folder, stops a
;     running service (upgrade in place), copies mailoauth.exe to %ProgramFiles%\mailoauth,
;     registers the service (LocalSystem, recovery actions, delayed auto-start, SID type) and
;     the Event Log source whose message table is in mailoauth.exe, then starts it. None of that
;     is repeated here: src/service/install/windows.rs is the one place it is written;
;   - adds the folder to the machine PATH once (no duplicate on an upgrade), broadcasts
;     WM_SETTINGCHANGE so new consoles see it; a Start-menu shortcut to the wizard; the
;     Add/Remove Programs entry.
;   - The uninstaller runs `mailoauth.exe service uninstall` (with --purge under /PURGE, which
;     also removes %ProgramData%\mailoauth: the config and the tokens), then removes the files,
;     the PATH entry, the shortcut and the registry keys. Without /PURGE the config and the
;     tokens stay, for a reinstall.
;
; WebView2: the bootstrapper is NOT bundled. Windows 10 (since 2021 updates) and 11 and Server
; 2022 have the WebView2 runtime; on an older server the wizard does not start until it is
; installed (https://developer.microsoft.com/microsoft-edge/webview2/), while mailoauth.exe and
; the service do not need it. The Tauri-bundled MSI/NSIS installers of the release workflow
; handle WebView2 the Tauri way (a download bootstrapper).
;
; Defines given by the build script (makensis -D...): VERSION (the crate's), VERSION_NUM (its
; numeric part, for the file's version resource), APP_EXE and CLI_EXE (the cross-built
; executables), WEBVIEW2_LOADER (the WebView2Loader.dll the gnu build of the app imports),
; OUTFILE, ICON, COMPRESSOR (default lzma).
; Command line: /S silent; the uninstaller also takes /PURGE.

Unicode true
Target amd64-unicode
ManifestDPIAware true
RequestExecutionLevel admin
!ifndef COMPRESSOR
  !define COMPRESSOR lzma
!endif
SetCompressor /SOLID ${COMPRESSOR}

!ifndef VERSION
  !error "VERSION is not defined: build with scripts/windows-installer.sh"
!endif

!define PRODUCT "mailoauth"
!define PUBLISHER "mailoauth"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\mailoauth"
!define ENV_KEY "SYSTEM\CurrentControlSet\Control\Session Manager\Environment"

!include LogicLib.nsh
!include FileFunc.nsh
!include WinMessages.nsh
!include x64.nsh
!include MUI2.nsh

Name "${PRODUCT} ${VERSION}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\mailoauth"
BrandingText "${PRODUCT} ${VERSION}"
ShowInstDetails show
ShowUninstDetails show
!ifdef ICON
  !define MUI_ICON "${ICON}"
  !define MUI_UNICON "${ICON}"
!endif

VIProductVersion "${VERSION_NUM}.0"
VIAddVersionKey "ProductName" "${PRODUCT}"
VIAddVersionKey "CompanyName" "${PUBLISHER}"
VIAddVersionKey "FileDescription" "${PRODUCT} installer"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "LegalCopyright" "Apache-2.0"

; No "start the wizard" box on the last page: it would start the wizard with the installer's
; elevated token. The wizard runs as the admin, unelevated, and asks through UAC for the one
; action that needs it (the Start-menu shortcut starts it so).
!define MUI_FINISHPAGE_TEXT "mailoauth and its token service are installed (the details list each step).$\r$\n$\r$\nStart the wizard from the Start menu to set up an account; the command mailoauth works in any new console."
!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

Var ServiceNote

; ---------------------------------------------------------------------------------------------
; The machine PATH. NSIS strings hold NSIS_MAX_STRLEN (1024) characters: a longer PATH is never
; read truncated and written back (that would cut the machine's PATH); it is left as it is, and
; the installer says so, with the folder to add by hand.

; AddToPath: $R0 = the folder. Adds it unless an entry equal to it (case-insensitive, with or
; without a trailing backslash) is there already.
Function AddToPath
  Push $R1
  Push $R2
  Push $R3
  ClearErrors
  ReadRegStr $R1 HKLM "${ENV_KEY}" "Path"
  ${If} ${Errors}
    DetailPrint "PATH: the machine PATH could not be read (missing, or longer than ${NSIS_MAX_STRLEN} characters): left unchanged; add $R0 by hand"
    Goto done
  ${EndIf}
  Push $R1
  Push $R0
  Call PathHas
  Pop $R2
  ${If} $R2 == 1
    DetailPrint "PATH: $R0 is on the machine PATH already"
    Goto done
  ${EndIf}
  StrLen $R2 $R1
  StrLen $R3 $R0
  IntOp $R2 $R2 + $R3
  ${If} $R2 >= 1020
    DetailPrint "PATH: the machine PATH is too long for the installer to extend safely: left unchanged; add $R0 by hand"
    Goto done
  ${EndIf}
  ${If} $R1 == ""
    StrCpy $R1 "$R0"
  ${Else}
    StrCpy $R3 $R1 1 -1
    ${If} $R3 == ";"
      StrCpy $R1 "$R1$R0"
    ${Else}
      StrCpy $R1 "$R1;$R0"
    ${EndIf}
  ${EndIf}
  WriteRegExpandStr HKLM "${ENV_KEY}" "Path" "$R1"
  SendMessage ${HWND_BROADCAST} ${WM_SETTINGCHANGE} 0 "STR:Environment" /TIMEOUT=5000
  DetailPrint "PATH: added $R0 to the machine PATH"
done:
  Pop $R3
  Pop $R2
  Pop $R1
FunctionEnd

; PathHas: stack in: PATH value, folder (folder on top); out: 1 or 0.
Function PathHas
  Exch $R0 ; folder
  Exch
  Exch $R1 ; PATH
  Push $R2
  Push $R3
  Push $R4
  StrCpy $R2 0  ; index
  StrCpy $R3 "" ; the entry being read
  loop:
    StrCpy $R4 $R1 1 $R2
    ${If} $R4 == ";"
    ${OrIf} $R4 == ""
      ${If} $R3 == $R0
      ${OrIf} $R3 == "$R0\"
        StrCpy $R0 1
        Goto out
      ${EndIf}
      ${If} $R4 == ""
        StrCpy $R0 0
        Goto out
      ${EndIf}
      StrCpy $R3 ""
    ${Else}
      StrCpy $R3 "$R3$R4"
    ${EndIf}
    IntOp $R2 $R2 + 1
    Goto loop
  out:
  Pop $R4
  Pop $R3
  Pop $R2
  Pop $R1
  Exch $R0
FunctionEnd

; un.RemoveFromPath: $R0 = the folder. Removes every entry equal to it (case-insensitive, with
; or without a trailing backslash); every other entry stays as it was, in its order.
Function un.RemoveFromPath
  Push $R1
  Push $R2
  Push $R3
  Push $R4
  Push $R5
  Push $R6
  ClearErrors
  ReadRegStr $R1 HKLM "${ENV_KEY}" "Path"
  ${If} ${Errors}
    DetailPrint "PATH: the machine PATH could not be read (missing, or longer than ${NSIS_MAX_STRLEN} characters): left unchanged; remove $R0 by hand if it is there"
    Goto done
  ${EndIf}
  StrCpy $R2 0  ; index
  StrCpy $R3 "" ; the entry being read
  StrCpy $R5 "" ; the new PATH
  StrCpy $R6 0  ; entries kept so far
  loop:
    StrCpy $R4 $R1 1 $R2
    ${If} $R4 == ";"
    ${OrIf} $R4 == ""
      ${If} $R3 != $R0
      ${AndIf} $R3 != "$R0\"
        ${If} $R6 == 0
          StrCpy $R5 "$R3"
        ${Else}
          StrCpy $R5 "$R5;$R3"
        ${EndIf}
        IntOp $R6 $R6 + 1
      ${EndIf}
      ${If} $R4 == ""
        Goto joined
      ${EndIf}
      StrCpy $R3 ""
    ${Else}
      StrCpy $R3 "$R3$R4"
    ${EndIf}
    IntOp $R2 $R2 + 1
    Goto loop
  joined:
  ${If} $R5 != $R1
    WriteRegExpandStr HKLM "${ENV_KEY}" "Path" "$R5"
    SendMessage ${HWND_BROADCAST} ${WM_SETTINGCHANGE} 0 "STR:Environment" /TIMEOUT=5000
    DetailPrint "PATH: removed $R0 from the machine PATH"
  ${Else}
    DetailPrint "PATH: $R0 was not on the machine PATH"
  ${EndIf}
done:
  Pop $R6
  Pop $R5
  Pop $R4
  Pop $R3
  Pop $R2
  Pop $R1
FunctionEnd

; ---------------------------------------------------------------------------------------------

Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_ICONSTOP|MB_OK "mailoauth needs 64-bit Windows." /SD IDOK
    Abort
  ${EndIf}
  SetRegView 64
  SetShellVarContext all
FunctionEnd

Section "mailoauth" SecMain
  SectionIn RO
  SetOutPath "$INSTDIR"
  ; The wizard: replaced in place (it is not the service's binary).
  File "/oname=mailoauth-app.exe" "${APP_EXE}"
  ; The x86_64-pc-windows-gnu build of the app links WebView2's loader dynamically (the MSVC
  ; build links it statically): it lies beside the app. (The WebView2 runtime itself is
  ; Windows'.)
  File "/oname=WebView2Loader.dll" "${WEBVIEW2_LOADER}"

  ; mailoauth.exe goes in place through `service install` (stop, copy, register, start): a
  ; running service's binary cannot be overwritten here, and the copy below %ProgramFiles% is
  ; the one the service runs.
  InitPluginsDir
  File "/oname=$PLUGINSDIR\mailoauth.exe" "${CLI_EXE}"
  DetailPrint "mailoauth.exe service install"
  nsExec::ExecToLog '"$PLUGINSDIR\mailoauth.exe" service install'
  Pop $0
  ${If} $0 != 0
    ; The service could not be registered or started: the files stay, the admin sees why
    ; (above, in the details) and how to retry; the install itself reports a failure.
    StrCpy $ServiceNote "`mailoauth service install` failed ($0): see the details; retry it from an elevated prompt once the cause is fixed."
    DetailPrint "$ServiceNote"
    ${IfNot} ${FileExists} "$INSTDIR\mailoauth.exe"
      File "/oname=mailoauth.exe" "${CLI_EXE}"
    ${EndIf}
    SetErrorLevel 3
  ${EndIf}

  Push $INSTDIR
  Pop $R0
  Call AddToPath

  CreateShortcut "$SMPROGRAMS\mailoauth.lnk" "$INSTDIR\mailoauth-app.exe" "" "$INSTDIR\mailoauth-app.exe" 0 SW_SHOWNORMAL "" "mailoauth: OAuth2 for mail services"

  WriteUninstaller "$INSTDIR\uninstall.exe"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayName" "${PRODUCT}"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINST_KEY}" "Publisher" "${PUBLISHER}"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\mailoauth-app.exe"
  WriteRegStr HKLM "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegStr HKLM "${UNINST_KEY}" "URLInfoAbout" "https://github.com/mailoauth/mailoauth"
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $1 $2 $3
  WriteRegDWORD HKLM "${UNINST_KEY}" "EstimatedSize" $1
SectionEnd

Function .onInstFailed
  SetErrorLevel 2
FunctionEnd

; ---------------------------------------------------------------------------------------------

Var Purge

Function un.onInit
  SetRegView 64
  SetShellVarContext all
  StrCpy $Purge 0
  ${GetParameters} $0
  ClearErrors
  ${GetOptions} $0 "/PURGE" $1
  ${IfNot} ${Errors}
    StrCpy $Purge 1
  ${EndIf}
  ${IfNot} ${Silent}
  ${AndIf} $Purge == 0
    MessageBox MB_YESNO|MB_ICONQUESTION|MB_DEFBUTTON2 "Also remove the configuration and the tokens in $COMMONPROGRAMDATA\mailoauth?$\r$\n$\r$\nNo keeps them for a reinstall (the grants stay valid at the providers either way: revoke them there)." IDNO keep
    StrCpy $Purge 1
    keep:
  ${EndIf}
FunctionEnd

Section "Uninstall"
  ${If} ${FileExists} "$INSTDIR\mailoauth.exe"
    ${If} $Purge == 1
      DetailPrint "mailoauth.exe service uninstall --purge"
      nsExec::ExecToLog '"$INSTDIR\mailoauth.exe" service uninstall --purge'
    ${Else}
      DetailPrint "mailoauth.exe service uninstall"
      nsExec::ExecToLog '"$INSTDIR\mailoauth.exe" service uninstall'
    ${EndIf}
    Pop $0
    ${If} $0 != 0
      DetailPrint "`mailoauth service uninstall` failed ($0): the service may still be registered (sc delete mailoauth)"
      SetErrorLevel 3
    ${EndIf}
  ${EndIf}

  Push $INSTDIR
  Pop $R0
  Call un.RemoveFromPath

  Delete "$SMPROGRAMS\mailoauth.lnk"
  Delete "$INSTDIR\mailoauth-app.exe"
  Delete "$INSTDIR\WebView2Loader.dll"
  Delete "$INSTDIR\mailoauth.exe"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey HKLM "${UNINST_KEY}"
  ${If} $Purge == 1
    DetailPrint "purged: the service's config and tokens ($COMMONPROGRAMDATA\mailoauth) are removed"
  ${Else}
    DetailPrint "kept: $COMMONPROGRAMDATA\mailoauth (the config and the tokens; uninstall with /PURGE to remove them)"
  ${EndIf}
SectionEnd
