//! Build script of the `mailoauth` package: on Windows (GNU toolchain) it compiles the Event Log
//! message table (src/service/windows/messages.mc) with mingw's `windmc` and `windres` and links
//! it into the `mailoauth` binary, which the Event Log source's `EventMessageFile` names, so the
//! Event Viewer shows the service's messages instead of "description not found". Nothing on
//! other targets.

use std::path::PathBuf;
use std::process::Command;

fn tool(name: &str) -> String {
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let prefixed = match arch.as_str() {
        "x86_64" => format!("x86_64-w64-mingw32-{name}"),
        "x86" => format!("i686-w64-mingw32-{name}"),
        "aarch64" => format!("aarch64-w64-mingw32-{name}"),
        _ => name.to_owned(),
    };
    if Command::new(&prefixed).arg("--version").output().is_ok() {
        prefixed
    } else {
        name.to_owned()
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/service/windows/messages.mc");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        return;
    }
    if std::env::var("CARGO_CFG_TARGET_ENV").as_deref() != Ok("gnu") {
        println!("cargo:warning=the Event Log message table is built with mingw's windmc/windres only: this build has none, so events read 'description not found'");
        return;
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let mc = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("manifest dir"))
        .join("src/service/windows/messages.mc");
    let run = |program: String, args: &[&std::ffi::OsStr]| {
        let status = Command::new(&program)
            .args(args)
            .current_dir(&out)
            .status()
            .unwrap_or_else(|e| panic!("{program}: {e} (install mingw-w64: scripts/setup.sh)"));
        assert!(status.success(), "{program} failed: {status}");
    };
    run(
        tool("windmc"),
        &[
            "-h".as_ref(),
            out.as_os_str(),
            "-r".as_ref(),
            out.as_os_str(),
            mc.as_os_str(),
        ],
    );
    let res = out.join("messages.res");
    run(
        tool("windres"),
        &[
            "-i".as_ref(),
            out.join("messages.rc").as_os_str(),
            "-O".as_ref(),
            "coff".as_ref(),
            "-o".as_ref(),
            res.as_os_str(),
        ],
    );
    println!("cargo:rustc-link-arg-bin=mailoauth={}", res.display());
}
