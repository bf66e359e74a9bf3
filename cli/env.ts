/**
 * Environment the CLI sets before anything else loads. Imported first by main.ts.
 *
 * The AWS SDK prints a NodeVersionSupportWarning on Node < 22 when a client is built; the switch is read
 * in @aws-sdk/core's emitWarningIfUnsupportedVersion (node_modules/@aws-sdk/core/dist-cjs/submodules/
 * client/index.js): AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true. Node 20 is supported here
 * (package.json engines), so the warning only clutters every command's stderr.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
