//! The init of each sandboxed call's PID namespace (see `tool_runtime_core::sandbox::init`).
//! Shipped beside the `.node` file; the host execs it, never a user.

fn main() {
    tool_runtime_core::sandbox::init::main()
}
