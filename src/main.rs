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
/// (docs/performance.md, "Peak RSS is not flat"). Fixed settings instead:
/// two arenas, enough for a process that mostly waits on the network; an
/// mmap threshold of 2 MiB and a trim threshold of 8 MiB, so that the
/// buffers of ordinary messages and attachments up to a megabyte or two
/// are reused from the heap instead of being mapped, faulted in page by
/// page and unmapped for every message (an initial sync of the medium
/// bench corpus took 140,000 page faults and 0.3 s more CPU with a
/// 128 KiB threshold; see docs/performance.md). Bigger bodies are mapped
/// and returned when freed.
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
        libc::mallopt(libc::M_MMAP_THRESHOLD, 2 * 1024 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 8 * 1024 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc() {}
