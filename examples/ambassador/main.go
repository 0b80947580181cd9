// Command ambassador shows the ambassador pattern with real Redis servers:
// the app talks to 127.0.0.1:6379 inside its pod as if Redis were local,
// and reaches two redis-server instances on the host only through the
// ambassador, which sticks it to one of them (consistent hashing). Halfway
// through, that instance is killed: the ambassador's health checks eject
// it, and the app goes on against the other, unchanged.
//
//	sudo go run ./examples/ambassador [-duration 8s]
//
// It needs redis-server and redis-cli (Debian's redis-server package). The
// same pod is examples/ambassador/pod.yaml (start the two servers first, as
// its comment says), and kubernetes.yaml is what it becomes on Kubernetes.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/podkit/podkit/pod/console"

	"github.com/podkit/podkit/ambassador"
	"github.com/podkit/podkit/pod"
)

// app counts its visits in "Redis", and says which server answered.
const app = `while :; do
  echo "hits=$(redis-cli -p 6379 incr hits) from redis on port $(redis-cli -p 6379 config get port | tail -n 1)"
  sleep 0.3
done`

func main() {
	duration := flag.Duration("duration", 8*time.Second, "run this long; one Redis is killed halfway")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *duration, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ambassador:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, duration time.Duration, w io.Writer) error {
	out := console.New(w)
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()

	var servers []*redisServer
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	var upstreams []ambassador.Upstream
	for range 2 {
		s, err := startRedis()
		if err != nil {
			return err
		}
		servers = append(servers, s)
		upstreams = append(upstreams, ambassador.Upstream{Addr: s.addr})
		fmt.Fprintf(out, "redis-server listening on %s (host)\n", s.addr)
	}
	amb, err := ambassador.TCP{
		Listen:      "127.0.0.1:6379",
		Upstreams:   upstreams,
		Balance:     ambassador.Hash,
		HealthCheck: ambassador.HealthCheck{Interval: 200 * time.Millisecond, Rise: 2, Fall: 1},
	}.Container("redis-ambassador")
	if err != nil {
		return err
	}
	p, err := pod.New("ambassador", pod.Spec{
		TerminationGracePeriod: new(2 * time.Second),
		InitContainers:         []pod.Container{amb},
		Containers: []pod.Container{{Name: "app", Command: []string{"sh", "-c", app},
			Stdout: out.Writer("app"), Stderr: out.Writer("app")}},
	})
	if err != nil {
		return err
	}
	if err := p.Start(ctx); err != nil {
		return err
	}
	// Halfway through, kill the instance the app is stuck to.
	select {
	case <-time.After(duration / 2):
		s := servers[stuckTo(p, servers)]
		fmt.Fprintf(out, "killing the redis-server on %s\n", s.addr)
		s.stop()
	case <-ctx.Done():
	}
	err = p.Wait()
	fmt.Fprintf(out, "pod ambassador finished: phase %s\n", p.Status().Phase)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// stuckTo returns the index of the server the app's last line names.
func stuckTo(p *pod.Pod, servers []*redisServer) int {
	logs, _ := p.Logs("app", pod.LogOptions{Tail: 1})
	for i, s := range servers {
		for _, e := range logs {
			_, port, _ := net.SplitHostPort(s.addr)
			if strings.Contains(e.Text, "port "+port) {
				return i
			}
		}
	}
	return 0
}

// redisServer is a redis-server on the host's loopback.
type redisServer struct {
	addr string
	cmd  *exec.Cmd
	once sync.Once
}

func startRedis() (*redisServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("redis-server: %w", err)
	}
	s := &redisServer{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd}
	for range 100 {
		if c, err := net.Dial("tcp", s.addr); err == nil {
			c.Close()
			return s, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.stop()
	return nil, fmt.Errorf("redis-server on %s did not start", s.addr)
}

func (s *redisServer) stop() {
	s.once.Do(func() {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	})
}
