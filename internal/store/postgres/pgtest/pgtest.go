// Package pgtest starts a real PostgreSQL server for a test package and
// gives each test a fresh, empty database on it, for the PostgreSQL store
// engine's tests and, later, any test of nodes sharing one database.
//
// The server runs from Debian's postgresql package (initdb and pg_ctl,
// found in PATH, through `pg_config --bindir`, or in
// /usr/lib/postgresql/*/bin), on a temporary data directory, listening on
// 127.0.0.1 at a free port with its socket in that directory, as the
// postgres user when the tests run as root (PostgreSQL refuses root).
// It is stopped with `pg_ctl stop -m fast` on its data directory: no
// process is ever killed by name. When the programs are missing the test
// fails if CI is set (.ci/run installs them) and skips otherwise, as
// internal/testtool does.
//
// It is a test helper: it depends on pgx (to create databases),
// internal/testtool and the standard library, and on no store package.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/certgate/certgate/internal/testtool"
)

// Server is one running PostgreSQL server.
type Server struct {
	bin     string // the directory of initdb, pg_ctl, postgres
	dir     string // owns data/, the socket, the log
	port    int
	durable bool
	cred    *syscall.Credential // the postgres user's, when run as root
	dbs     atomic.Int64
}

// Shared is a server started by the first test of a package that asks
// for a database, and stopped by Stop from TestMain:
//
//	var pg pgtest.Shared
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		pg.Stop()
//		os.Exit(code)
//	}
type Shared struct {
	// Durable keeps fsync and full-page writes on, as in production (for
	// benchmarks); tests leave it off and run faster.
	Durable bool

	once sync.Once
	srv  *Server
	err  error
	miss string // the program not found, if any
}

// URL returns the connection string of a new, empty database for t on
// the package's server, started on the first call. The database is
// dropped when t ends (after the cleanups registered later, such as a
// store's Close). A missing PostgreSQL fails t under CI and skips it
// otherwise; a server that does not start fails t.
func (sh *Shared) URL(t testing.TB) string {
	t.Helper()
	sh.once.Do(func() {
		bin, missing := FindBin()
		if missing != "" {
			sh.miss = missing
			return
		}
		sh.srv, sh.err = Start(bin, sh.Durable)
	})
	if sh.miss != "" {
		testtool.Require(t, sh.miss) // fails under CI, skips otherwise
		t.Fatalf("%s was found by testtool but not by pgtest", sh.miss)
	}
	if sh.err != nil {
		t.Fatalf("start PostgreSQL: %v", sh.err)
	}
	return sh.srv.NewDatabase(t)
}

// Server returns the running server (nil before the first URL).
func (sh *Shared) Server() *Server { return sh.srv }

// Stop stops the server if it was started and removes its files.
func (sh *Shared) Stop() {
	if sh.srv != nil {
		if err := sh.srv.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		}
	}
}

// FindBin returns the directory holding initdb and pg_ctl, or the name
// of the one that was not found.
func FindBin() (dir, missing string) {
	var dirs []string
	if p, err := testtool.Find("initdb"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(versions, func(a, b string) int { return version(b) - version(a) }) // newest first
	dirs = append(dirs, versions...)
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, ""
		}
	}
	if _, err := testtool.Find("initdb"); err != nil {
		return "", "initdb"
	}
	return "", "pg_ctl"
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// Start initialises a data directory in a new temporary directory and
// starts a server on it, on a free port of 127.0.0.1; durable keeps fsync
// on. The caller stops it with Stop.
func Start(bin string, durable bool) (*Server, error) {
	s := &Server{bin: bin, durable: durable}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, PostgreSQL needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	// Not t.TempDir: its parent is private to root, and postgres must
	// reach its data directory.
	dir, err := os.MkdirTemp("", "certgate-pg-")
	if err != nil {
		return nil, err
	}
	s.dir = dir
	if s.cred != nil {
		if err := os.Chown(dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if out, err := s.run("initdb", "-D", s.data(), "-A", "trust", "-U", "postgres",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	// A port found free may be taken before the server binds it: retry.
	for attempt := 0; ; attempt++ {
		s.port, err = freePort()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		out, err := s.start()
		if err == nil {
			return s, nil
		}
		if attempt == 2 {
			log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			s.run("pg_ctl", "-D", s.data(), "-m", "immediate", "stop")
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, log)
		}
	}
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

// start runs pg_ctl start on the server's data directory and port.
func (s *Server) start() ([]byte, error) {
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c max_connections=200", s.port, s.dir)
	if !s.durable {
		opts += " -c fsync=off -c full_page_writes=off"
	}
	return s.run("pg_ctl", "-D", s.data(), "-l", filepath.Join(s.dir, "server.log"), "-w", "-t", "60", "-o", opts, "start")
}

// Crash stops the server at once, as an outage would (pg_ctl stop -m
// immediate: no checkpoint, clients cut off), keeping its data for
// Restart.
func (s *Server) Crash() error {
	if out, err := s.run("pg_ctl", "-D", s.data(), "-m", "immediate", "-w", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop -m immediate: %w\n%s", err, out)
	}
	return nil
}

// Restart starts a stopped server again on the same port and data
// (recovering after Crash).
func (s *Server) Restart() error {
	if out, err := s.start(); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
		return fmt.Errorf("pg_ctl start: %w\n%s\n%.2000s", err, out, log)
	}
	return nil
}

// run runs one of the server's programs, as the postgres user when root.
func (s *Server) run(prog string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(s.bin, prog), args...)
	cmd.Dir = s.dir
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	return cmd.CombinedOutput()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Port is the server's TCP port on 127.0.0.1.
func (s *Server) Port() int { return s.port }

// AdminURL is the connection string of the server's postgres database,
// as the superuser.
func (s *Server) AdminURL() string { return s.url("postgres") }

func (s *Server) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// NewDatabase creates an empty database for t and returns its
// connection string; it is dropped when t ends.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d", s.dbs.Add(1))
	if err := s.Exec(context.Background(), `CREATE DATABASE `+name+` TEMPLATE template0`); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := s.Exec(context.Background(), `DROP DATABASE `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return s.url(name)
}

// Exec runs one statement on the postgres database as the superuser.
func (s *Server) Exec(ctx context.Context, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.AdminURL())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// Stop stops the server (pg_ctl stop -m fast, on its data directory) and
// removes its files.
func (s *Server) Stop() error {
	out, err := s.run("pg_ctl", "-D", s.data(), "-m", "fast", "-w", "stop")
	if rerr := os.RemoveAll(s.dir); err == nil {
		err = rerr
	}
	if err != nil {
		return errors.Join(fmt.Errorf("stop PostgreSQL in %s: %w", s.dir, err), errors.New(string(out)))
	}
	return nil
}
