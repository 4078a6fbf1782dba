// The local Step Functions engine needs Promise.withResolvers, which Node 20 lacks.
import '../local/polyfill.ts';

// The SDK warns about Node 20 (its releases from January 2027 need Node 22); tests need not read it.
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = '1';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

// Operational logs (core/logging.ts) stay quiet in tests unless asked for (SIXBACK_LOG_LEVEL=INFO npx vitest
// ...): the local stack reads SIXBACK_LOG_LEVEL, a configuration without a level leaves it to Powertools'
// POWERTOOLS_LOG_LEVEL. Tests that read the logs pass their own level and sink.
process.env.SIXBACK_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_LOG_LEVEL ??= process.env.SIXBACK_LOG_LEVEL;
