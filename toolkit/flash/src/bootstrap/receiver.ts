/**
 * The receivers the bootstrap writes on the board, one per tool set (see tools.ts), speaking the same
 * line protocol. The host sends `C <seq> <sha256 of the chunk> <base64 of the chunk>` lines and, at the
 * end, `E <count> <sha256 of everything>`; the receiver answers each line with `AKB-ACK <n>` (chunks
 * 0..n-1 are held: cumulative), `AKB-NAK <n>` (the line was damaged: send again from chunk n),
 * `AKB-DONE <n>` (the whole file checked and moved into place) or `AKB-FAIL <n>` (whole-file mismatch,
 * the part removed). A chunk ahead of the one expected is dropped without an answer (go-back-n: it was
 * sent before a resend); one already held is answered with an ACK (its ACK was lost on the way back).
 * The file grows in `<out>.part` and becomes `<out>` only once its SHA-256 matched.
 *
 * The command line that starts a receiver crosses the same damaging line: its second argument is the
 * SHA-256 of the first (the output path), and a receiver whose path does not match answers
 * `AKB-RX-BADARG` and exits 2 before it creates anything, so a byte error in the path cannot make it
 * write somewhere else (the host then starts it again).
 */
import { createHash } from 'node:crypto';
import { shellWord } from './shell.js';
import type { ReceiverKind } from './tools.js';

const SH = `# akb bootstrap receiver (POSIX sh, base64, sha256sum): checked base64 chunks on stdin to "$1"
[ "$(printf '%s' "$1" | sha256sum)" = "$2  -" ] || { printf '%s%s\\n' 'AKB-RX' '-BADARG'; exit 2; }
out=$1; part="$out.part"; chunk="$out.chunk"; n=0
: > "$part" || exit 1
printf '%s%s\\n' 'AKB-RX' '-READY'
while IFS=' ' read -r kind seq sum data; do
  case $seq in ''|*[!0-9]*) echo "AKB-NAK $n"; continue ;; esac
  case $kind in
  C)
    if [ "$seq" -lt "$n" ]; then echo "AKB-ACK $n"
    elif [ "$seq" -eq "$n" ]; then
      if printf '%s\\n' "$data" | base64 -d > "$chunk" 2>/dev/null && [ "$(sha256sum < "$chunk")" = "$sum  -" ]; then
        cat "$chunk" >> "$part" && n=$((n + 1)) && echo "AKB-ACK $n"
      else echo "AKB-NAK $n"; fi
    fi ;;
  E)
    if [ "$seq" -ne "$n" ] || [ "$sum" != "$data" ]; then echo "AKB-NAK $n"
    elif [ "$(sha256sum < "$part")" = "$sum  -" ]; then rm -f "$chunk"; mv "$part" "$out" && echo "AKB-DONE $n"; exit 0
    else echo "AKB-FAIL $n"; rm -f "$chunk" "$part"; exit 1; fi ;;
  *) echo "AKB-NAK $n" ;;
  esac
done
rm -f "$chunk"; exit 1
`;

const PYTHON = `# akb bootstrap receiver (python3): checked base64 chunks on stdin to sys.argv[1]
import base64, hashlib, os, sys
def say(s):
    sys.stdout.write(s + '\\n'); sys.stdout.flush()
if len(sys.argv) != 3 or hashlib.sha256(os.fsencode(sys.argv[1])).hexdigest() != sys.argv[2]:
    say('AKB-RX' + '-BADARG'); sys.exit(2)
out = sys.argv[1]; part = out + '.part'; n = 0
f = open(part, 'wb'); whole = hashlib.sha256()
say('AKB-RX' + '-READY')
for raw in sys.stdin.buffer:
    w = raw.split()
    try:
        kind = w[0]; seq = int(w[1])
    except Exception:
        say('AKB-NAK %d' % n); continue
    if kind == b'C' and len(w) == 4:
        if seq < n:
            say('AKB-ACK %d' % n)
        elif seq == n:
            try:
                data = base64.b64decode(w[3], validate=True)
            except Exception:
                data = None
            if data is not None and hashlib.sha256(data).hexdigest().encode() == w[2]:
                f.write(data); whole.update(data); n += 1; say('AKB-ACK %d' % n)
            else:
                say('AKB-NAK %d' % n)
    elif kind == b'E' and len(w) == 4 and seq == n and w[2] == w[3]:
        f.close()
        if whole.hexdigest().encode() == w[2]:
            os.replace(part, out); say('AKB-DONE %d' % n); sys.exit(0)
        os.remove(part); say('AKB-FAIL %d' % n); sys.exit(1)
    else:
        say('AKB-NAK %d' % n)
sys.exit(1)
`;

/** The receiver script for `kind`. */
export function receiverScript(kind: ReceiverKind): string {
  return kind === 'sh' ? SH : PYTHON;
}

/** The shell command that runs the receiver at `script` (quoted), writing `out` (the path itself, quoted here). */
export function receiverCommand(kind: ReceiverKind, script: string, out: string): string {
  const check = createHash('sha256').update(out, 'utf8').digest('hex');
  return `${kind === 'sh' ? 'sh' : 'python3'} ${script} ${shellWord(out)} ${check}`;
}

/** A command printing the SHA-256 (hex) of the file `path` (quoted) with the board's tools. */
export function sha256Command(kind: ReceiverKind, path: string): string {
  return kind === 'sh'
    ? `sha256sum < ${path}`
    : `python3 -c "import hashlib,sys; h=hashlib.sha256(); f=open(sys.argv[1],'rb'); [h.update(b) for b in iter(lambda: f.read(65536), b'')]; print(h.hexdigest())" ${path}`;
}

/** A command gunzipping `from` into `to` (quoted) with the board's tools. */
export function gunzipCommand(kind: ReceiverKind, from: string, to: string): string {
  return kind === 'sh'
    ? `gzip -dc < ${from} > ${to}`
    : `python3 -c "import gzip,shutil,sys; shutil.copyfileobj(gzip.open(sys.argv[1]), open(sys.argv[2],'wb'))" ${from} ${to}`;
}
