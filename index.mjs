// ES module entry: the same objects as the CommonJS entry, so `instanceof` works across both.
import cjs from "./index.js";

export const {
  RuntimeFactory,
  Runtime,
  newDefaultFactory,
  defaultConfig,
  testConfig,
  fromAppConfig,
  configFromEnv,
  isValidRuntimeType,
  isBunAvailable,
  isNodeAvailable,
  newId,
  sandboxCapabilities,
  RuntimeTypeBun,
  RuntimeTypeNode,
  SupportedRuntimeTypes,
  ToolRuntimeError,
  ToolExecutionError,
  TimeoutError,
  AbortError,
  ProcessError,
  ValidationError,
  ConfigError,
} = cjs;

export default cjs;
