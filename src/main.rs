//! The `offlineimap` binary: parse the command line, run, exit.

use std::process::ExitCode;

fn main() -> ExitCode {
    tune_malloc();
    let cli = offlineimap::cli::parse();
    if cli.version_info {
        println!("{}", offlineimap::cli::version_info());
        return ExitCode::SUCCESS;
    }
    offlineimap::app::main_with(cli)
}

/// glibc's malloc, left to itself, keeps freed message buffers resident:
/// after the first large buffer is freed it raises its mmap threshold, so
/// later bodies of up to 32 MiB come from the heap and stay there, in one
/// arena per thread that ever allocated (up to eight per CPU). With four
/// folders in flight that was 6 to 8 MiB of peak RSS that was no live data
/// (docs/performance.md, "Peak RSS is not flat"). A fixed threshold of
/// 128 KiB maps every large buffer and returns it when freed, and two
/// arenas are enough for a process that mostly waits on the network.
/// Tunables the user set (`MALLOC_ARENA_MAX`, `GLIBC_TUNABLES`...) are left
/// alone: glibc applied them before `main`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_malloc() {
    let user_set = std::env::vars_os().any(|(k, _)| {
        let k = k.to_string_lossy();
        k.starts_with("MALLOC_") || k == "GLIBC_TUNABLES"
    });
    if user_set {
        return;
    }
    // SAFETY: mallopt only changes malloc's parameters; it is called once,
    // before any other thread exists, with documented parameter values.
    // Its result (0 = rejected) changes nothing we rely on.
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc() {}
