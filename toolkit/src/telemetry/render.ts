/**
 * The `akb telemetry` table as lines of text: a header (broker, devices, messages/s), one row per device
 * sorted by id, and a footer with what was refused. Every line fits `width` columns (cut with "…"); rows
 * beyond `height` are summed up in one line. With `color`, silent devices are grey and alarms red (SGR
 * codes, which take no columns). The caller decides how lines reach the terminal (redraw.ts).
 */
import type { DeviceRow, ModelCounters } from './model.js';

export interface ScreenInput {
  broker: string;
  rows: readonly DeviceRow[];
  counters: ModelCounters;
  /** Messages per second, over the last few seconds. */
  rate: number;
  now: number;
  width: number;
  /** Lines available; undefined: no limit (a `--once` table on a pipe). */
  height?: number;
  /** A device is silent when nothing of it arrived for this long, or its status is offline. */
  silentMs: number;
  color: boolean;
  /** Extra footer notes (e.g. dropped output lines). */
  notes?: readonly string[];
  /** False while the broker connection is down (the header says so, in red). */
  connected?: boolean;
}

const GREY = '\x1b[90m';
const RED = '\x1b[31m';
const BOLD = '\x1b[1m';
const RESET = '\x1b[0m';

interface Segment {
  text: string;
  style?: string;
}

/** In the order of importance, so that a narrow terminal cuts the least useful columns. */
const COLUMNS: readonly { title: string; width: number; right?: boolean }[] = [
  { title: 'DEVICE', width: 16 },
  { title: 'STATE', width: 8 },
  { title: 'ALARMS', width: 20 },
  { title: 'SEEN', width: 4, right: true },
  { title: 'SNR dB', width: 6, right: true },
  { title: 'USES/PWR', width: 11, right: true },
  { title: 'PSNR', width: 5, right: true },
  { title: 'SSIM', width: 5, right: true },
  { title: 'LAT ms', width: 6, right: true },
  { title: 'RSS MB', width: 6, right: true },
  { title: 'TEMP', width: 4, right: true },
  { title: 'PROFILE', width: 16 },
];
const ALARM_COLUMN = 2;

const fixed = (x: number | null, digits: number): string => (x === null ? '-' : x.toFixed(digits));

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 100) return `${s}s`;
  if (s < 6000) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

function cell(text: string, width: number, right = false): string {
  const t = text.length > width ? `${text.slice(0, width - 1)}…` : text;
  return right ? t.padStart(width) : t.padEnd(width);
}

export function isSilent(row: DeviceRow, now: number, silentMs: number): boolean {
  return row.state === 'offline' || now - row.lastSeen > silentMs;
}

function rowCells(row: DeviceRow, now: number): string[] {
  const state = row.state === 'updating' && row.phase !== null ? `upd:${row.phase}` : (row.state ?? '?');
  const action = row.action === null ? '-' : `${row.action.ratePrefix}/${row.action.power.toFixed(2)}`;
  return [
    row.device, state, row.alarms.map((a) => a.kind).join(',') || '-', age(now - row.lastSeen), fixed(row.snrDb, 1), action,
    fixed(row.psnr, 1), fixed(row.ssim, 3), fixed(row.latencyMs, 0), row.rssBytes === null ? '-' : (row.rssBytes / 2 ** 20).toFixed(0),
    fixed(row.temperatureC, 0), row.profile ?? '-',
  ];
}

/** Segments cut to `width` visible columns: the last one that overflows ends with "…". */
function fit(segments: readonly Segment[], width: number): Segment[] {
  const out: Segment[] = [];
  let used = 0;
  for (const s of segments) {
    if (used + s.text.length <= width) {
      out.push(s);
      used += s.text.length;
      continue;
    }
    const room = width - used;
    if (room > 0) out.push({ text: `${s.text.slice(0, room - 1)}…`, ...(s.style !== undefined ? { style: s.style } : {}) });
    break;
  }
  return out;
}

function paint(segments: readonly Segment[], color: boolean, lineStyle?: string): string {
  const text = segments.map((s) => (color && s.style !== undefined ? `${s.style}${s.text}${RESET}${lineStyle ?? ''}` : s.text)).join('');
  return color && lineStyle !== undefined ? `${lineStyle}${text}${RESET}` : text;
}

function line(segments: readonly Segment[], input: ScreenInput, lineStyle?: string): string {
  return paint(fit(segments, Math.max(1, input.width)), input.color, lineStyle);
}

export function renderScreen(input: ScreenInput): string[] {
  const { rows, now } = input;
  const online = rows.filter((r) => !isSilent(r, now, input.silentMs)).length;
  const alarmed = rows.filter((r) => r.alarms.length > 0).length;
  const clock = new Date(now).toISOString().slice(11, 19);
  const header: Segment[] = [
    { text: 'akb telemetry', style: BOLD },
    { text: `  ${input.broker}  ${rows.length} device(s), ${online} live, ` },
    { text: `${alarmed} alarmed`, ...(alarmed > 0 ? { style: RED } : {}) },
    { text: `  ${input.rate.toFixed(1)} msg/s  ${clock} UTC` },
    ...(input.connected === false ? [{ text: '  DISCONNECTED, reconnecting', style: RED }] : []),
  ];
  const titles = COLUMNS.map((c) => cell(c.title, c.width, c.right)).join(' ');
  const lines = [line(header, input), line([{ text: titles.trimEnd() }], input, BOLD)];

  const footer = footerText(input);
  const room = input.height === undefined ? rows.length : Math.max(0, input.height - lines.length - 1);
  const shown = rows.length > room ? rows.slice(0, Math.max(0, room - 1)) : rows;
  for (const row of shown) {
    const segments: Segment[] = rowCells(row, now).flatMap((c, i) => {
      const text = cell(c, COLUMNS[i]!.width, COLUMNS[i]!.right);
      const styled = i === ALARM_COLUMN && row.alarms.length > 0 ? { text, style: RED } : { text };
      return i > 0 ? [{ text: ' ' }, styled] : [styled];
    });
    segments[segments.length - 1]!.text = segments[segments.length - 1]!.text.trimEnd();
    lines.push(line(segments, input, isSilent(row, now, input.silentMs) ? GREY : undefined));
  }
  if (shown.length < rows.length) lines.push(line([{ text: `… ${rows.length - shown.length} more device(s) (narrow with --device)` }], input));
  lines.push(line([{ text: footer }], input, GREY));
  return lines;
}

function footerText(input: ScreenInput): string {
  const c = input.counters;
  const parts = [`${c.messages} msg`, `${c.malformed} malformed`, `${c.mismatched} device mismatch`];
  if (c.stale > 0) parts.push(`${c.stale} stale deaths`);
  if (c.forgotten > 0) parts.push(`${c.forgotten} devices forgotten`);
  if (c.filtered > 0) parts.push(`${c.filtered} filtered out`);
  return [...parts, ...(input.notes ?? [])].join(', ');
}
