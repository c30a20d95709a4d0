//go:build linux

package replay

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ARPHRD_* device types (linux/if_arp.h) whose frames start with an Ethernet header.
const (
	arphrdEther    = 1
	arphrdLoopback = 772
)

const (
	linkTypeEthernet = 1
	ethHeaderLen     = 14
	vlanTagLen       = 4
	etherTypeVLAN    = 0x8100
	// sendRetries bounds retries of a write the kernel refused for lack of buffer space.
	sendRetries = 50
)

// LiveSink sends frames onto a network interface through an AF_PACKET raw socket, exactly as
// captured (no rewriting). Only Ethernet frames are sent. Frames it cannot send are skipped
// and counted, not fatal (errors wrapping ErrSkipped, described once per kind and point):
// other link types, frames longer than the MTU plus the Ethernet header (plus 4 bytes for an
// 802.1Q tag, as the kernel allows), runts shorter than an Ethernet header, and frames the
// kernel keeps refusing for lack of buffer space. It is not safe for concurrent use.
type LiveSink struct {
	fd     int
	name   string
	mtu    int
	frames uint64
	warned map[string]bool // "kind\x00point" already described
	closed bool
	counts LiveCounts
}

// LiveCounts counts frames a LiveSink skipped, by reason.
type LiveCounts struct {
	LinkType uint64 // not Ethernet
	TooLarge uint64 // beyond MTU + 14 (+4 with an 802.1Q tag)
	TooSmall uint64 // shorter than an Ethernet header
	Dropped  uint64 // refused by the kernel (no buffer space) after retries
}

// OpenLive opens the named interface for sending. The interface must be named explicitly,
// exist and be up, and sending needs CAP_NET_RAW; otherwise the error is one line saying which.
func OpenLive(iface string) (*LiveSink, error) {
	if iface == "" {
		return nil, errors.New("replay: no interface named; name the interface to send on")
	}
	ifc, err := net.InterfaceByName(iface)
	if err != nil {
		if strings.Contains(err.Error(), "no such network interface") {
			return nil, fmt.Errorf("replay: interface %q does not exist", iface)
		}
		return nil, fmt.Errorf("replay: interface %q: %w", iface, err)
	}
	if ifc.Flags&net.FlagUp == 0 {
		return nil, fmt.Errorf("replay: interface %q is down", iface)
	}
	if t, ok := arphrdType(iface); ok && t != arphrdEther && t != arphrdLoopback {
		return nil, fmt.Errorf("replay: interface %q is not an Ethernet interface (ARPHRD type %d); only Ethernet is supported", iface, t)
	}
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, socketError(iface, err)
	}
	// Protocol 0 on bind: this socket sends only and never receives a copy of the traffic.
	if err := syscall.Bind(fd, &syscall.SockaddrLinklayer{Ifindex: ifc.Index}); err != nil {
		syscall.Close(fd)
		return nil, socketError(iface, err)
	}
	return &LiveSink{fd: fd, name: iface, mtu: ifc.MTU, warned: map[string]bool{}}, nil
}

// socketError turns a socket or bind failure into the one-line message OpenLive promises.
func socketError(iface string, err error) error {
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
		return fmt.Errorf("replay: sending on interface %q needs CAP_NET_RAW (run as root or setcap cap_net_raw+ep)", iface)
	}
	if errors.Is(err, syscall.ENETDOWN) {
		return fmt.Errorf("replay: interface %q is down", iface)
	}
	if errors.Is(err, syscall.ENODEV) || errors.Is(err, syscall.ENXIO) {
		return fmt.Errorf("replay: interface %q does not exist", iface)
	}
	return fmt.Errorf("replay: opening a raw socket on interface %q: %w", iface, err)
}

// arphrdType reads the interface's device type from sysfs.
func arphrdType(iface string) (int, bool) {
	b, err := os.ReadFile("/sys/class/net/" + iface + "/type")
	if err != nil {
		return 0, false
	}
	t, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return t, err == nil
}

// WallClock reports that frames must leave on time: Run paces onto a LiveSink.
func (s *LiveSink) WallClock() bool { return true }

// Name returns the interface name.
func (s *LiveSink) Name() string { return s.name }

// MTU returns the interface MTU read when it was opened.
func (s *LiveSink) MTU() int { return s.mtu }

// WriteFrame sends one frame. Skipped frames return an error wrapping ErrSkipped; an
// interface that went away or down is a plain error.
func (s *LiveSink) WriteFrame(f *Frame) error {
	if s.closed {
		return errSinkClosed
	}
	s.frames++
	if f.LinkType != linkTypeEthernet {
		s.counts.LinkType++
		return s.skip("link", f.Point, "replay: capture point %q has link type %d, interface %q takes only Ethernet (1)",
			f.Point, f.LinkType, s.name)
	}
	n := len(f.Data)
	if n < ethHeaderLen {
		s.counts.TooSmall++
		return s.skip("small", f.Point, "replay: frame %d at point %q has %d bytes, less than an Ethernet header",
			s.frames, f.Point, n)
	}
	limit := s.mtu + ethHeaderLen
	if f.Data[12] == etherTypeVLAN>>8 && f.Data[13] == etherTypeVLAN&0xff {
		limit += vlanTagLen
	}
	if n > limit {
		s.counts.TooLarge++
		return s.skip("large", f.Point, "replay: frame %d at point %q has %d bytes, more than interface %q takes (MTU %d + %d)",
			s.frames, f.Point, n, s.name, s.mtu, limit-s.mtu)
	}
	for try := 0; ; try++ {
		_, err := syscall.Write(s.fd, f.Data)
		switch {
		case err == nil:
			return nil
		case err == syscall.EINTR:
			continue
		case (err == syscall.ENOBUFS || err == syscall.EAGAIN) && try < sendRetries:
			time.Sleep(20 * time.Microsecond)
			continue
		case err == syscall.ENOBUFS || err == syscall.EAGAIN:
			s.counts.Dropped++
			return s.skip("drop", f.Point, "replay: interface %q refused frame %d at point %q (%v)",
				s.name, s.frames, f.Point, err)
		case err == syscall.EMSGSIZE:
			s.counts.TooLarge++
			return s.skip("large", f.Point, "replay: frame %d at point %q has %d bytes, more than interface %q takes",
				s.frames, f.Point, n, s.name)
		case err == syscall.ENETDOWN:
			return fmt.Errorf("replay: interface %q went down at frame %d", s.name, s.frames)
		case err == syscall.ENXIO || err == syscall.ENODEV:
			return fmt.Errorf("replay: interface %q went away at frame %d", s.name, s.frames)
		default:
			return fmt.Errorf("replay: sending frame %d on %q: %w", s.frames, s.name, err)
		}
	}
}

// Skipped returns the counts of skipped frames by reason.
func (s *LiveSink) Skipped() LiveCounts { return s.counts }

// skip returns ErrSkipped, described the first time for this kind and point (later ones are
// only counted, by Run and in Skipped).
func (s *LiveSink) skip(kind, point, format string, args ...any) error {
	key := kind + "\x00" + point
	if s.warned[key] {
		return ErrSkipped
	}
	s.warned[key] = true
	return fmt.Errorf(format+": %w", append(args, ErrSkipped)...)
}

// Close closes the socket.
func (s *LiveSink) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if err := syscall.Close(s.fd); err != nil {
		return fmt.Errorf("replay: closing the socket on %q: %w", s.name, err)
	}
	return nil
}
