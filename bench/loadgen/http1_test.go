package main

import (
	"bufio"
	"errors"
	"strings"
	"testing"
)

func TestReadResponse(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		status int
		close  bool
		rest   string // what must be left unread: the next response
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\nNEXT", 200, false, "NEXT"},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nok\n\r\n2;x=y\r\nab\r\n0\r\nTrailer: 1\r\n\r\nNEXT", 200, false, "NEXT"},
		{"no body on 204", "HTTP/1.1 204 No Content\r\n\r\nNEXT", 204, false, "NEXT"},
		{"connection close", "HTTP/1.1 503 Busy\r\nconnection: Close\r\ncontent-length: 0\r\n\r\nNEXT", 503, true, "NEXT"},
		{"read to EOF without length", "HTTP/1.0 200 OK\r\n\r\nbody", 200, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := bufio.NewReader(strings.NewReader(tt.in))
			h, err := readResponse(br)
			if err != nil {
				t.Fatalf("readResponse(%q) error: %v", tt.in, err)
			}
			if h.status != tt.status || h.close != tt.close {
				t.Errorf("readResponse(%q) = status %d close %v, want %d %v", tt.in, h.status, h.close, tt.status, tt.close)
			}
			rest, _ := br.ReadString(0)
			if rest != tt.rest {
				t.Errorf("left %q unread, want %q", rest, tt.rest)
			}
		})
	}
}

func TestReadResponseMalformed(t *testing.T) {
	for _, in := range []string{
		"HTTP/1.1 2x0 OK\r\n\r\n",
		"SSH-2.0-OpenSSH\r\n\r\n",
		"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
	} {
		if _, err := readResponse(bufio.NewReader(strings.NewReader(in))); !errors.Is(err, errMalformed) {
			t.Errorf("readResponse(%q) error = %v, want errMalformed", in, err)
		}
	}
}

func TestNum(t *testing.T) {
	tests := []struct {
		v      float64
		digits int
		want   string
	}{
		{0, 0, "0"},
		{999, 0, "999"},
		{1000, 0, "1,000"},
		{1234567.891, 2, "1,234,567.89"},
		{-12345, 0, "-12,345"},
	}
	for _, tt := range tests {
		if got := num(tt.v, tt.digits); got != tt.want {
			t.Errorf("num(%v, %d) = %q, want %q", tt.v, tt.digits, got, tt.want)
		}
	}
}
