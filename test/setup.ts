// The local Step Functions engine needs Promise.withResolvers, which Node 20 lacks.
import '../local/polyfill.ts';

// The SDK warns on every client about Node 20; tests do not need to read it each time.
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = '1';
