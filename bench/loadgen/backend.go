package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// The shared back end: plain HTTP/1.1 on loopback, keep-alive, 200 with a
// 3-byte body for every request. It does as little as it can so that the
// peers, not it, set the pace: no header parsing beyond framing, no
// allocation per request, one write per response.
//
// For the sanity checks it also remembers the headers of requests whose
// path starts with /__probe/<token> (through the peer), and answers
// GET /__seen/<token> (asked directly, not through the peer) with them as a
// JSON object of lower-cased names, or 404 if it never saw that token.

var okResponse = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n")

type backend struct {
	mu   sync.Mutex
	seen map[string]map[string]string // probe token → header fields
}

func runBackend(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backend", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "`address` to listen on (loopback)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sigs
		ln.Close()
	}()
	if err := writeJSON(stdout, map[string]string{"mode": "backend", "addr": ln.Addr().String()}); err != nil {
		return err
	}
	b := &backend{seen: map[string]map[string]string{}}
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		go b.serve(c)
	}
}

var (
	probePrefix = []byte("/__probe/")
	seenPrefix  = []byte("/__seen/")
)

func (b *backend) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 32<<10)
	for {
		l, err := line(br)
		if err != nil {
			return
		}
		sp1, sp2 := bytes.IndexByte(l, ' '), bytes.LastIndexByte(l, ' ')
		if sp1 <= 0 || sp2 <= sp1 {
			c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
			return
		}
		target, version := l[sp1+1:sp2], l[sp2+1:]
		http10 := bytes.Equal(version, []byte("HTTP/1.0"))
		var probe, seen string
		var fields map[string]string
		var visit func(name, value []byte)
		switch {
		case bytes.HasPrefix(target, probePrefix):
			probe = string(target[len(probePrefix):])
			fields = map[string]string{}
			visit = func(name, value []byte) {
				k := strings.ToLower(string(name))
				if old, ok := fields[k]; ok {
					fields[k] = old + ", " + string(value)
				} else {
					fields[k] = string(value)
				}
			}
		case bytes.HasPrefix(target, seenPrefix):
			seen = string(target[len(seenPrefix):])
		}
		var h head
		if err := readFields(br, &h, visit); err != nil {
			c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
			return
		}
		if err := discardBody(br, &h, false); err != nil {
			return
		}
		if probe != "" {
			b.mu.Lock()
			b.seen[probe] = fields
			b.mu.Unlock()
		}
		if seen != "" {
			b.mu.Lock()
			f, ok := b.seen[seen]
			b.mu.Unlock()
			if !ok {
				c.Write([]byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
			} else {
				body, _ := json.Marshal(f)
				c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + string(body)))
			}
		} else if _, err := c.Write(okResponse); err != nil {
			return
		}
		if h.close || http10 {
			return
		}
	}
}
