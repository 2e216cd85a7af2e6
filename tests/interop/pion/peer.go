// Pion's side of tests/interop/pc_pion.py: one Pion (github.com/pion/webrtc/v3, Debian's
// golang-github-pion-webrtc.v3-dev) PeerConnection with the same stdio signaling as
// examples/peer.cpp (the browser's JSON, one message per line: stdout out, stdin in;
// human-readable events on stderr), and the same contract as tests/interop/werift/peer.mjs:
//
//	peer [--offer] [--expect N] [--size B] [--echo-count N] [--echo-size B]
//	     [--timeout SECONDS] [--linger SECONDS]
//
// --offer creates the data channel "from-pion" and sends the offer; otherwise it answers and
// takes the channel the other side opens. Once the channel is open it sends --echo-count
// messages of --echo-size bytes in `peer --send`'s pattern for the other side to echo, and
// checks what arrives: a message of --echo-size bytes must be the next of its own, any other the
// next of `peer --send`'s pattern for --size bytes (the sizes must differ). When --expect
// messages and every echo have arrived intact it prints
//
//	RESULT peer=pion recv=N bytes=B secs=S MBps=X open_ms=T
//
// on stderr, stays up until its standard input closes or --linger seconds pass, and exits 0.
// Exit 1 on a wrong, extra or missing message or a failed connection; 2 on timeout. Lines the
// test reads: "pion: connectionstatechange <state>", "pion: datachannel open label=<label>",
// "pion: error <text>" and the RESULT line. PION_LOG_DEBUG=all gives Pion's own log.
//
// Pion leaves loopback out of its host candidates unless told; the test's network namespace has
// nothing else (SetIncludeLoopbackCandidate).
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/pion/webrtc/v3"
)

var (
	offer     = flag.Bool("offer", false, "create the data channel and send the offer")
	expect    = flag.Int("expect", 1000, "messages of --size bytes to receive")
	size      = flag.Int("size", 1024, "size of the other side's messages")
	echoCount = flag.Int("echo-count", 100, "messages to send for the other side to echo")
	echoSize  = flag.Int("echo-size", 1000, "size of those messages")
	timeout   = flag.Float64("timeout", 20, "seconds before giving up (exit 2)")
	linger    = flag.Float64("linger", 5, "seconds to stay up once everything arrived")
)

// maxSignalingLine bounds one signaling message read from stdin.
const maxSignalingLine = 1 << 20

func say(format string, a ...any) { fmt.Fprintf(os.Stderr, "pion: "+format+"\n", a...) }

// Message k of `peer --send` for n bytes: k as 4 big-endian bytes (truncated when n < 4), then
// byte j = (k + j) mod 251 (examples/peer.cpp).
func peerkitMessage(k, n int) []byte {
	m := make([]byte, n)
	var head [4]byte
	binary.BigEndian.PutUint32(head[:], uint32(k))
	copy(m, head[:])
	for j := 4; j < n; j++ {
		m[j] = byte((k + j) % 251)
	}
	return m
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

type peer struct {
	pc      *webrtc.PeerConnection
	started time.Time
	out     sync.Mutex // one signaling line at a time; the description before its candidates

	mu                  sync.Mutex
	nextMsg, nextEcho   int
	first, last, opened time.Time
	done                bool
}

func (p *peer) send(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		p.fail("encoding %T: %v", v, err)
	}
	p.out.Lock()
	defer p.out.Unlock()
	os.Stdout.Write(append(b, '\n'))
}

func (p *peer) exit(code int) {
	if p.pc != nil {
		p.pc.Close()
	}
	os.Exit(code)
}

func (p *peer) fail(format string, a ...any) {
	say("error "+format, a...)
	p.exit(1)
}

// setLocal sets the description and sends it before any candidate: Pion starts gathering in
// SetLocalDescription and reports candidates from other goroutines, which wait for p.out.
func (p *peer) setLocal(d webrtc.SessionDescription) {
	p.out.Lock()
	if err := p.pc.SetLocalDescription(d); err != nil {
		p.out.Unlock()
		p.fail("setLocalDescription: %v", err)
	}
	b, err := json.Marshal(p.pc.LocalDescription())
	if err != nil {
		p.out.Unlock()
		p.fail("encoding the description: %v", err)
	}
	os.Stdout.Write(append(b, '\n'))
	p.out.Unlock()
}

func (p *peer) finish() {
	p.done = true
	secs := p.last.Sub(p.first).Seconds()
	total := *expect * *size
	mbps := 0.0
	if secs > 0 {
		mbps = float64(total) / 1e6 / secs
	}
	fmt.Fprintf(os.Stderr, "RESULT peer=pion recv=%d bytes=%d secs=%.3f MBps=%.2f open_ms=%.1f\n",
		*expect, total, secs, mbps, float64(p.opened.Sub(p.started).Microseconds())/1000)
	time.AfterFunc(seconds(*linger), func() { p.exit(0) })
}

func (p *peer) onMessage(m webrtc.DataChannelMessage) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		p.fail("message after all were received (%d bytes)", len(m.Data))
	}
	if m.IsString {
		p.fail("text message; only binary was sent")
	}
	if len(m.Data) == *echoSize {
		if p.nextEcho >= *echoCount {
			p.fail("echo %d of %d: too many", p.nextEcho, *echoCount)
		}
		if want := peerkitMessage(p.nextEcho, *echoSize); !bytes.Equal(m.Data, want) {
			p.fail("echo %d: %x..., want %x...", p.nextEcho, m.Data[:12], want[:12])
		}
		p.nextEcho++
	} else {
		if p.nextMsg >= *expect {
			p.fail("message %d of %d: too many", p.nextMsg, *expect)
		}
		if want := peerkitMessage(p.nextMsg, *size); !bytes.Equal(m.Data, want) {
			p.fail("message %d: %d bytes, want %d bytes %x...", p.nextMsg, len(m.Data), len(want), want[:12])
		}
		if p.nextMsg == 0 {
			p.first = time.Now()
		}
		p.last = time.Now()
		p.nextMsg++
	}
	if p.nextMsg == *expect && p.nextEcho == *echoCount {
		p.finish()
	}
}

func (p *peer) attach(dc *webrtc.DataChannel) {
	dc.OnOpen(func() {
		p.mu.Lock()
		p.opened = time.Now()
		p.mu.Unlock()
		say("datachannel open label=%s", dc.Label())
		for i := 0; i < *echoCount; i++ {
			if err := dc.Send(peerkitMessage(i, *echoSize)); err != nil {
				p.fail("send: %v", err)
			}
		}
	})
	dc.OnMessage(p.onMessage)
	dc.OnClose(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.done {
			p.fail("data channel closed before all messages arrived")
		}
	})
}

func (p *peer) onSignal(line []byte) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(line, &fields); err != nil {
		p.fail("not JSON on stdin: %.80s", line)
	}
	if _, ok := fields["sdp"]; ok {
		var d webrtc.SessionDescription
		if err := json.Unmarshal(line, &d); err != nil {
			p.fail("description: %v", err)
		}
		if err := p.pc.SetRemoteDescription(d); err != nil {
			p.fail("setRemoteDescription: %v", err)
		}
		if d.Type == webrtc.SDPTypeOffer {
			answer, err := p.pc.CreateAnswer(nil)
			if err != nil {
				p.fail("createAnswer: %v", err)
			}
			p.setLocal(answer)
		}
		return
	}
	var c webrtc.ICECandidateInit
	if err := json.Unmarshal(line, &c); err != nil {
		p.fail("candidate: %v", err)
	}
	if c.Candidate == "" {
		return // end of candidates: Pion has no use for it
	}
	if err := p.pc.AddICECandidate(c); err != nil {
		p.fail("addIceCandidate: %v", err)
	}
}

func main() {
	flag.Parse()
	if *echoSize == *size {
		say("error --echo-size must differ from --size: the size tells echoes apart")
		os.Exit(1)
	}
	settings := webrtc.SettingEngine{}
	settings.SetIncludeLoopbackCandidate(true)
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(settings)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		say("error %v", err)
		os.Exit(1)
	}
	p := &peer{pc: pc, started: time.Now()}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		say("connectionstatechange %s", s)
		if s == webrtc.PeerConnectionStateFailed {
			p.fail("connection failed")
		}
	})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			p.send(map[string]string{"candidate": ""}) // end of gathering
			return
		}
		p.send(c.ToJSON())
	})
	pc.OnDataChannel(p.attach)
	time.AfterFunc(seconds(*timeout), func() {
		say("error timed out after %g s", *timeout)
		p.exit(2)
	})

	if *offer {
		dc, err := pc.CreateDataChannel("from-pion", nil)
		if err != nil {
			p.fail("createDataChannel: %v", err)
		}
		p.attach(dc)
		o, err := pc.CreateOffer(nil)
		if err != nil {
			p.fail("createOffer: %v", err)
		}
		p.setLocal(o)
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64*1024), maxSignalingLine)
	for in.Scan() {
		if line := bytes.TrimSpace(in.Bytes()); len(line) > 0 {
			p.onSignal(line)
		}
	}
	if err := in.Err(); err != nil {
		p.fail("stdin: %v", err)
	}
	// Standard input closed: leave now if everything arrived, else wait for the timeout.
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done {
		p.exit(0)
	}
	select {}
}
