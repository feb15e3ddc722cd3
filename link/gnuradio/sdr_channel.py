#!/usr/bin/env python3
"""A headless GNU Radio flowgraph for the sdr-udp link: cf32 samples in on a UDP port, through GNU Radio's
channel model (noise, frequency offset, timing offset, multipath), out to a UDP port (the gateway).

    UDP source (gr_complex, 64-bit sequence header) -> channels.channel_model -> UDP sink (same header)

With --radio it instead drives a radio: the UDP source feeds an osmosdr (PlutoSDR, HackRF, USRP through
gr-osmosdr) or UHD sink, and a radio source feeds the UDP sink (see README.md). It prints "ready" on
stdout once the flowgraph runs and stops on SIGTERM or SIGINT.

Runtime control (channel model only): one command a line on stdin, one answer a line on stdout, so a sweep
changes the channel without restarting the flowgraph:

    noise <voltage>     channel_model.set_noise_voltage   -> "ok noise <voltage>"
    freq <cycles>       channel_model.set_frequency_offset -> "ok freq <cycles>"
    anything else, a bad number, a line over 256 bytes    -> "error <why>"

End of input (stdin closed or /dev/null) ends the commands, not the flowgraph.
"""
import argparse
import math
import signal
import sys
import threading

from gnuradio import channels, gr, network


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--in-port', type=int, required=True, help='UDP port the edge sends cf32 samples to')
    p.add_argument('--out-host', default='127.0.0.1', help='where the gateway listens')
    p.add_argument('--out-port', type=int, required=True)
    p.add_argument('--header', type=int, choices=[0, 1], default=1, help='0: none, 1: 64-bit sequence number')
    p.add_argument('--payload', type=int, default=1472, help='UDP payload bytes, header included')
    p.add_argument('--noise-voltage', type=float, default=0.0, help='noise std per complex sample (variance = v^2)')
    p.add_argument('--freq-offset', type=float, default=0.0, help='frequency offset, cycles per sample')
    p.add_argument('--epsilon', type=float, default=1.0, help='sample timing ratio (1.0: none)')
    p.add_argument('--taps', default='1', help='multipath taps, comma separated complex numbers, e.g. "1,0.3j"')
    p.add_argument('--seed', type=int, default=0, help='noise seed')
    p.add_argument('--radio', choices=['none', 'osmosdr', 'uhd'], default='none', help='drive a radio instead of the channel model')
    p.add_argument('--direction', choices=['both', 'tx', 'rx'], default='both',
                   help='with --radio: transmit what arrives on --in-port, receive to --out-port, or both (half-duplex radios such as HackRF: one flowgraph each way)')
    p.add_argument('--device-args', default='', help='osmosdr/uhd device string, e.g. "hackrf=0", "plutosdr=ip:192.168.2.1", "type=b200"')
    p.add_argument('--freq', type=float, default=433.92e6, help='radio centre frequency, Hz')
    p.add_argument('--rate', type=float, default=1e6, help='radio sample rate, samples/s')
    p.add_argument('--tx-gain', type=float, default=0.0)
    p.add_argument('--rx-gain', type=float, default=20.0)
    return p.parse_args(argv)


class SdrChannel(gr.top_block):
    def __init__(self, a):
        gr.top_block.__init__(self, 'akb sdr-udp channel', catch_exceptions=True)
        # udp_source(itemsize, vlen, port, header type, payload size, notify missed, source zeros, ipv6)
        self.src = network.udp_source(gr.sizeof_gr_complex, 1, a.in_port, a.header, a.payload, False, False, False)
        # udp_sink(itemsize, vlen, host, port, header type, payload size, send eof)
        self.sink = network.udp_sink(gr.sizeof_gr_complex, 1, a.out_host, a.out_port, a.header, a.payload, False)
        self.chan = None
        if a.radio == 'none':
            taps = [complex(t) for t in a.taps.split(',')]
            self.chan = channels.channel_model(
                noise_voltage=a.noise_voltage, frequency_offset=a.freq_offset, epsilon=a.epsilon, taps=taps,
                noise_seed=a.seed, block_tags=False)
            self.connect(self.src, self.chan, self.sink)
        else:
            tx, rx = radio_blocks(a)
            if tx is not None:
                self.connect(self.src, tx)
            if rx is not None:
                self.connect(rx, self.sink)


def radio_blocks(a):
    if a.radio == 'osmosdr':
        import osmosdr  # gr-osmosdr: apt-get install gr-osmosdr
        tx = osmosdr.sink(args=a.device_args) if a.direction != 'rx' else None
        rx = osmosdr.source(args=a.device_args) if a.direction != 'tx' else None
        for b, gain in ((tx, a.tx_gain), (rx, a.rx_gain)):
            if b is None:
                continue
            b.set_sample_rate(a.rate)
            b.set_center_freq(a.freq, 0)
            b.set_gain(gain, 0)
        return tx, rx
    from gnuradio import uhd  # apt-get install gnuradio (UHD support) and uhd-host for the images
    stream = uhd.stream_args(cpu_format='fc32', channels=[0])
    tx = uhd.usrp_sink(a.device_args, stream, '') if a.direction != 'rx' else None
    rx = uhd.usrp_source(a.device_args, stream) if a.direction != 'tx' else None
    for b, gain in ((tx, a.tx_gain), (rx, a.rx_gain)):
        if b is None:
            continue
        b.set_samp_rate(a.rate)
        b.set_center_freq(a.freq, 0)
        b.set_gain(gain, 0)
    return tx, rx


MAX_COMMAND = 256
MAX_NOISE_VOLTAGE = 1000.0


def command(tb, line):
    """One stdin command applied to the running flowgraph; returns the answer line."""
    if len(line) > MAX_COMMAND:
        return 'error a command is at most %d bytes' % MAX_COMMAND
    parts = line.split()
    if len(parts) != 2 or parts[0] not in ('noise', 'freq'):
        return 'error expected "noise <voltage>" or "freq <cycles per sample>"'
    if tb.chan is None:
        return 'error no channel model (--radio drives a radio)'
    try:
        value = float(parts[1])
    except ValueError:
        return 'error not a number: %s' % parts[1][:32]
    if parts[0] == 'noise':
        if not (math.isfinite(value) and 0 <= value <= MAX_NOISE_VOLTAGE):
            return 'error a noise voltage is 0 to %g' % MAX_NOISE_VOLTAGE
        tb.chan.set_noise_voltage(value)
    else:
        if not (math.isfinite(value) and abs(value) <= 0.5):
            return 'error a frequency offset is -0.5 to 0.5 cycles per sample'
        tb.chan.set_frequency_offset(value)
    return 'ok %s %r' % (parts[0], value)


def serve_commands(tb, done):
    """Reads commands until end of input; the flowgraph runs on either way."""
    for raw in sys.stdin:
        if done.is_set():
            return
        line = raw.strip()
        if line == '':
            continue
        print(command(tb, line), flush=True)


def main(argv):
    a = parse_args(argv)
    tb = SdrChannel(a)
    done = threading.Event()

    def stop(*_):
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    tb.start()
    print('ready', flush=True)
    threading.Thread(target=serve_commands, args=(tb, done), daemon=True).start()
    done.wait()
    tb.stop()
    tb.wait()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
