//! Handing freed memory back to the system between folders.
//!
//! A folder's sync allocates and frees its metadata (listings, the
//! Maildir's names, plans) in many small pieces; glibc keeps what was
//! freed resident for later allocations, and in a long sync of many large
//! folders (or ranges of one) the resident set grows with what was once
//! allocated, not with what is live: 8 to 18 MiB of anonymous memory
//! against an 11 MB heap peak over a 1 % resync of the large bench corpus
//! (docs/performance.md). `malloc_trim` after each folder and each range
//! gives the free pages back, so the resident set follows the live data.

/// Give memory freed so far back to the system (glibc only; elsewhere a
/// no-op).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn trim() {
    // SAFETY: malloc_trim only returns free memory of malloc's own arenas
    // to the kernel; it takes malloc's locks itself and touches no live
    // allocation, so it is safe to call from any thread at any time.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn trim() {}
