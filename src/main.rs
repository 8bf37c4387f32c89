//! The `listnews` command; everything it does is in [`listnews::cli`].

/// jemalloc rather than glibc's malloc. A connection's task and its socket's registration are
/// 128-byte aligned allocations (tokio's); glibc pads each with fragments it rarely reuses,
/// jemalloc's size classes hold them exactly. `nntp-bench idle` at 10,000 connections: 1,414
/// bytes each with glibc, 816-921 with jemalloc (same build otherwise); an import's peak RSS
/// and speed are unchanged (bench/results/idle.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    listnews::cli::main()
}
