// Preloaded with `node -r`: makes this node report the platform and architecture named in
// PRETEND_PLATFORM ("darwin-arm64"), the way an unsupported machine would.
const [platform, arch] = process.env.PRETEND_PLATFORM.split("-");
Object.defineProperty(process, "platform", { value: platform });
Object.defineProperty(process, "arch", { value: arch });
