// The local Step Functions engine needs Promise.withResolvers, which Node 20 lacks.
import '../local/polyfill.ts';

// The SDK warns about Node 20 (its releases from January 2027 need Node 22); tests need not read it.
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = '1';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
