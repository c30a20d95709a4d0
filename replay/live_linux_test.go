//go:build linux

package replay

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// vethPair is a veth pair whose far end lives in a network namespace of its own; both are
// created by the test and removed by t.Cleanup. Nothing else is ever sent to.
type vethPair struct {
	ns, near, far string
	farMAC        net.HardwareAddr
}

// needNetAdmin skips unless the test can create namespaces and veth pairs.
func needNetAdmin(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("not root: creating a network namespace and veth pair needs root")
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("the ip command (iproute2) is not installed")
	}
	return ip
}

func newVethPair(t testing.TB) *vethPair {
	t.Helper()
	ip := needNetAdmin(t)
	var rnd [3]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatal(err)
	}
	id := hex.EncodeToString(rnd[:])
	v := &vethPair{ns: "sfreplay-" + id, near: "sfr" + id + "a", far: "sfr" + id + "b"}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ip, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if out, err := exec.Command(ip, "netns", "add", v.ns).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace here: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command(ip, "netns", "del", v.ns).Run() })
	run("link", "add", v.near, "type", "veth", "peer", "name", v.far, "netns", v.ns)
	t.Cleanup(func() { _ = exec.Command(ip, "link", "del", v.near).Run() })
	// No IPv6 on either end: no router solicitations or MLD reports mixed into the capture.
	_ = os.WriteFile("/proc/sys/net/ipv6/conf/"+v.near+"/disable_ipv6", []byte("1"), 0o644)
	_ = exec.Command(ip, "netns", "exec", v.ns, "sysctl", "-qw", "net.ipv6.conf."+v.far+".disable_ipv6=1").Run()
	run("-n", v.ns, "link", "set", v.far, "up")
	out, err := exec.Command(ip, "-n", v.ns, "-br", "link", "show", v.far).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Fields(string(out)) {
		if mac, err := net.ParseMAC(f); err == nil && len(mac) == 6 {
			v.farMAC = mac
		}
	}
	return v
}

func (v *vethPair) up(t testing.TB) {
	t.Helper()
	if out, err := exec.Command("ip", "link", "set", v.near, "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link set up: %v: %s", err, out)
	}
}

// captured is one frame received on the far end with the kernel's receive timestamp.
type captured struct {
	data []byte
	at   time.Time
}

// capture receives frames on the far end inside the namespace until stop is closed (and the
// socket has been quiet for a moment) and returns them on the channel. The socket is made on
// a thread moved into the namespace; that thread stays locked and dies with the goroutine.
func (v *vethPair) capture(t testing.TB, stop <-chan struct{}) <-chan []captured {
	t.Helper()
	ready := make(chan error, 1)
	result := make(chan []captured, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread is in another namespace
		var got []captured
		defer func() { result <- got }()
		fd, err := openCaptureSocket(v.ns, v.far)
		ready <- err
		if err != nil {
			return
		}
		defer syscall.Close(fd)
		buf := make([]byte, 65536)
		oob := make([]byte, 256)
		quiet := 0
		for {
			n, oobn, _, from, err := syscall.Recvmsg(fd, buf, oob, 0)
			if err != nil {
				if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR) {
					select {
					case <-stop:
						if quiet++; quiet >= 2 {
							return
						}
					default:
					}
					continue
				}
				return
			}
			if ll, ok := from.(*syscall.SockaddrLinklayer); ok && ll.Pkttype == syscall.PACKET_OUTGOING {
				continue
			}
			got = append(got, captured{data: slices.Clone(buf[:n]), at: kernelTime(oob[:oobn])})
		}
	}()
	if err := <-ready; err != nil {
		t.Fatalf("capture socket in %s: %v", v.ns, err)
	}
	return result
}

func openCaptureSocket(ns, iface string) (int, error) {
	nsfd, err := syscall.Open("/run/netns/"+ns, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	defer syscall.Close(nsfd)
	if err := unix.Setns(nsfd, unix.CLONE_NEWNET); err != nil {
		return -1, fmt.Errorf("setns: %w", err)
	}
	ifc, err := net.InterfaceByName(iface)
	if err != nil {
		return -1, err
	}
	proto := htons(0x0003) // ETH_P_ALL
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, int(proto))
	if err != nil {
		return -1, err
	}
	fail := func(err error) (int, error) { syscall.Close(fd); return -1, err }
	if err := syscall.Bind(fd, &syscall.SockaddrLinklayer{Protocol: proto, Ifindex: ifc.Index}); err != nil {
		return fail(err)
	}
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, 16<<20); err != nil {
		return fail(err)
	}
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1); err != nil {
		return fail(err)
	}
	tv := syscall.Timeval{Usec: 100_000}
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		return fail(err)
	}
	return fd, nil
}

// htons converts to network byte order, as sockaddr_ll and socket(2) want the protocol.
func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}

// kernelTime extracts the SCM_TIMESTAMPNS receive time; zero when absent.
func kernelTime(oob []byte) time.Time {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}
	}
	for _, m := range msgs {
		if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
			sec := int64(binary.NativeEndian.Uint64(m.Data[0:]))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:]))
			return time.Unix(sec, nsec)
		}
	}
	return time.Time{}
}

func TestOpenLiveErrors(t *testing.T) {
	// An empty name must not default to some interface: replay goes only where it is told.
	if _, err := OpenLive(""); err == nil || !strings.Contains(err.Error(), "no interface named") {
		t.Errorf("OpenLive(\"\") = %v", err)
	}
	if _, err := OpenLive("sfnosuch9"); err == nil || err.Error() != `replay: interface "sfnosuch9" does not exist` {
		t.Errorf("missing interface: %v", err)
	}
	// The capability message is what a user without root sees.
	if err := socketError("eth0", syscall.EPERM); err.Error() != `replay: sending on interface "eth0" needs CAP_NET_RAW (run as root or setcap cap_net_raw+ep)` {
		t.Errorf("EPERM message: %v", err)
	}
	v := newVethPair(t)
	// The near end exists but is still down.
	if _, err := OpenLive(v.near); err == nil || err.Error() != fmt.Sprintf("replay: interface %q is down", v.near) {
		t.Errorf("down interface: %v", err)
	}
}

// TestLiveReplay sends 2000 frames at 5000 pps onto a veth pair the test creates, captures them
// on the far end inside a namespace, and compares bytes and timing. Oversize, runt and
// non-Ethernet frames in the stream must be skipped and reported without ending the run.
func TestLiveReplay(t *testing.T) {
	v := newVethPair(t)
	v.up(t)
	sink, err := OpenLive(v.near)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	const n, pps = 2000, 5000.0
	good := testTraffic(n, v.farMAC)
	var in []Frame
	var slot []int // schedule slot (input index) of each good frame: skipped frames keep theirs
	for i, f := range good {
		slot = append(slot, len(in))
		in = append(in, f)
		switch i {
		case 100, 700: // jumbo frames beyond MTU 1500 + 14
			in = append(in, Frame{Point: "gen", LinkType: 1, Time: f.Time, Data: make([]byte, 9000)})
		case 300: // a PPP frame cannot go onto Ethernet
			in = append(in, Frame{Point: "ppp", LinkType: 9, Time: f.Time, Data: []byte{0xff, 3, 0, 0x21}})
		case 500: // a runt
			in = append(in, Frame{Point: "gen", LinkType: 1, Time: f.Time, Data: []byte{1, 2, 3}})
		}
	}
	// An 802.1Q-tagged frame may be 4 bytes longer than MTU + 14.
	tagged := make([]byte, 1518)
	copy(tagged, v.farMAC)
	binary.BigEndian.PutUint16(tagged[12:], 0x8100)
	binary.BigEndian.PutUint16(tagged[16:], 0x88B5)
	in = append(in, Frame{Point: "gen", LinkType: 1, Time: in[len(in)-1].Time, Data: tagged})
	good = append(good, in[len(in)-1])

	stop := make(chan struct{})
	result := v.capture(t, stop)
	// MaxLate -1: a stall of this shared machine must not move the schedule, so that the span
	// measures drift alone.
	st, err := Run(context.Background(), sliceSource(in), sink, Options{PPS: pps, MaxLate: -1})
	time.Sleep(50 * time.Millisecond)
	close(stop)
	got := <-result
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", st)
	for _, w := range st.Warnings {
		t.Logf("warning: %s", w)
	}
	if st.Packets != uint64(len(good)) || st.Skipped != 4 || len(st.Warnings) != 3 {
		t.Errorf("stats: %d packets %d skipped %d warnings, want %d, 4, 3", st.Packets, st.Skipped, len(st.Warnings), len(good))
	}
	if c := sink.Skipped(); c.TooLarge != 2 || c.LinkType != 1 || c.TooSmall != 1 {
		t.Errorf("skip counts %+v", c)
	}
	if len(got) != len(good) {
		t.Fatalf("received %d frames, sent %d", len(got), len(good))
	}
	// veth hands the 802.1Q tag to the receiver out of band (VLAN offload): compare the frame
	// with the tag taken out.
	good[len(good)-1].Data = slices.Delete(slices.Clone(tagged), 12, 16)
	for i := range good {
		if !bytes.Equal(got[i].data, good[i].Data) {
			t.Fatalf("frame %d differs: got %d bytes, sent %d", i, len(got[i].data), len(good[i].Data))
		}
	}
	// Timing from the kernel's receive timestamps: the frame in input slot k is due k/pps after
	// the first one (a skipped frame leaves its slot empty, like a gap in the capture).
	// Deviations are taken around the median offset, not frame 0's: a stall just before the
	// first write would otherwise shift every frame.
	var devs, offs []time.Duration
	for i := 0; i < n; i++ {
		due := time.Duration(float64(slot[i]) * 1e9 / pps)
		offs = append(offs, got[i].at.Sub(got[0].at)-due)
	}
	sorted := slices.Sorted(slices.Values(offs))
	ref := sorted[n/2]
	for _, d := range offs {
		devs = append(devs, max(d-ref, ref-d))
	}
	// Drift: the earliest arrival (relative to its schedule) in the last third against the
	// earliest in the first third. A stall of this shared machine only makes frames late (and,
	// with MaxLate -1, never moves the schedule), so minima ignore it unless it lasts a third.
	third := n / 3
	drift := slices.Min(offs[n-third:]) - slices.Min(offs[:third])
	slices.Sort(devs)
	p50, p99, worst := devs[len(devs)/2], devs[len(devs)*99/100], devs[len(devs)-1]
	t.Logf("arrival vs schedule: p50 %v p99 %v max %v, drift %v; pacer lateness p50 %v p99 %v max %v; %.0f pps",
		p50, p99, worst, drift, st.LateP50, st.LateP99, st.LateMax, st.PPS())
	if drift > time.Millisecond || drift < -time.Millisecond {
		t.Errorf("drift %v over %d frames, want within 1ms", drift, n)
	}
	// The pacer measures its own lateness; when it says the process itself was kept from
	// running (half the frames late by more than 500µs), the receiver cannot see better.
	if st.LateP50 > 500*time.Microsecond {
		t.Logf("the machine kept the pacer from running on time (p50 lateness %v); not judging arrival spread", st.LateP50)
	} else if p50 > time.Millisecond {
		t.Errorf("median deviation from the schedule %v, want under 1ms", p50)
	}
}

// liveBenchSink opens the near end of a fresh veth pair when the machine allows it.
func liveBenchSink(b *testing.B) (*LiveSink, bool) {
	if os.Geteuid() != 0 {
		return nil, false
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, false
	}
	v := newVethPair(b)
	v.up(b)
	s, err := OpenLive(v.near)
	if err != nil {
		b.Fatal(err)
	}
	return s, true
}

// BenchmarkLiveSinkWrite is the cost of one send onto a veth pair (the kernel delivers the
// frame to the peer in the sender's context), which bounds the rate the pacer can hold.
func BenchmarkLiveSinkWrite(b *testing.B) {
	l, ok := liveBenchSink(b)
	if !ok {
		b.Skip("needs root and iproute2 for a veth pair")
	}
	defer l.Close()
	frames := testTraffic(256, nil)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := l.WriteFrame(&frames[i%len(frames)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
