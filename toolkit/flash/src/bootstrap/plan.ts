/**
 * What the bootstrap sends first, taken from the bundle (read and, with trusted keys, verified here; the
 * board checks every file against the SHA-256 of the signed manifest): the install agent
 * (`app/akb-agent.mjs`), its launcher (`bin/akb-agent`) and `profile.json`; and the bundle's Node.js
 * (`node/bin/node`) only when the board has no Node.js 20.11 or newer, since the agent cannot run without
 * one. Everything else (the edge runtime, addons, models) follows through the framed protocol, which
 * uses the line better (no base64, no shell): the whole bundle is never pushed through the shell.
 * Also the time estimates the bootstrap prints: shell pushes at BOOTSTRAP_SHARE of the line rate
 * (after compression), the framed protocol at FRAMED_SHARE.
 */
import { AkbError } from '@akb/protocol';
import { readBundle } from '../bundle/index.js';
import type { TrustedKey } from '../keys.js';

export const AGENT_FILES = ['app/akb-agent.mjs', 'bin/akb-agent', 'profile.json'] as const;
export const NODE_FILE = 'node/bin/node';
/** Share of the line rate the shell push achieves (bench/flash/bootstrap.ts measured about 0.7). */
export const BOOTSTRAP_SHARE = 0.7;
/** Share of the line rate the framed protocol achieves (its target: at least 0.9). */
export const FRAMED_SHARE = 0.9;

export interface PlannedFile {
  path: string;
  mode: number;
  bytes: Buffer;
}

export interface BootstrapPlan {
  bundleBytes: number;
  version: string;
  files: PlannedFile[];
  /** The size of node/bin/node in the bundle, when it carries one. */
  nodeBytes: number | undefined;
}

/** Reads the files the bootstrap needs from `bundle` (with `node`, node/bin/node too). */
export async function planBootstrap(bundle: string, o: { trustedKeys: readonly TrustedKey[]; node: boolean; bundleBytes: number }): Promise<BootstrapPlan> {
  const wanted = new Set<string>([...AGENT_FILES, ...(o.node ? [NODE_FILE] : [])]);
  const files: PlannedFile[] = [];
  let version = '';
  let nodeBytes: number | undefined;
  await readBundle(bundle, {
    trustedKeys: o.trustedKeys,
    verify: o.trustedKeys.length > 0,
    onHeader: (h) => {
      version = h.manifest.version;
      nodeBytes = h.manifest.files.find((f) => f.path === NODE_FILE)?.size;
    },
    sink: {
      file: async (entry, content) => {
        const parts: Buffer[] = [];
        for await (const chunk of content) if (wanted.has(entry.path)) parts.push(Buffer.from(chunk));
        if (wanted.has(entry.path)) files.push({ path: entry.path, mode: entry.mode ?? 0o644, bytes: Buffer.concat(parts) });
      },
    },
  });
  for (const path of AGENT_FILES) {
    if (!files.some((f) => f.path === path)) {
      throw new AkbError('BOOTSTRAP_NO_AGENT', `the bundle carries no ${path}, which the bootstrap must send first`, {
        hint: 'package the bundle with akb package (it bundles the install agent)',
      });
    }
  }
  return { bundleBytes: o.bundleBytes, version, files, nodeBytes };
}

/** Seconds to move `bytes` at `share` of a line of `baud` (8N1: 10 bits a byte). */
export function lineSeconds(bytes: number, baud: number, share: number): number {
  return (bytes * 10) / (baud * share);
}

/** "42 s", "7 min", "1.4 h". */
export function formatDuration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
