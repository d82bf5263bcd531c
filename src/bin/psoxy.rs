fn main() {
    std::process::exit(psoxy::cli::main())
}
