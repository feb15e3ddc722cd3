/** The library behind `akb package`: a signed bundle of everything a board runs, for one device profile. */
export { packageBundle, type PackageOptions, type PackageSummary } from './build.js';
export { BUNDLE_NODE_MIN, BUNDLE_NODE_RANGE, agentLauncher, edgeLauncher } from './launchers.js';
export { MEMORY_BUDGET_DIVISOR } from './models.js';
export { ORT_WEB_FILES, neededAddons } from './addons.js';
export { EXTERNAL_PACKAGES } from './app.js';
export { cacheDir, checkElf, type NodeSource } from './node-runtime.js';
