//! `tingjian-supervision`: the supervision service on its own address with its own database.

fn main() -> std::process::ExitCode {
    tingjian_runtime::service::run_standalone(tingjian_supervision::MODULE)
}
