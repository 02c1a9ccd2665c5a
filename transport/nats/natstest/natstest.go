// Package natstest runs a real NATS server in-process for tests and demos,
// the way net/http/httptest runs an HTTP server: on 127.0.0.1, on a free
// port unless told otherwise, stopped by Close.
package natstest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Options adjusts the server; the zero value is a plain server on a free
// loopback port.
type Options struct {
	// Port is the port to listen on; zero picks a free one. Restarting a
	// server on the port of one that was closed reconnects its clients.
	Port int
	// TLS, if set, makes the server speak TLS with this configuration;
	// set ClientAuth and ClientCAs in it to require client certificates.
	TLS *tls.Config
	// MaxPayload, if positive, replaces the server's 1 MiB message limit.
	MaxPayload int32
}

// Server is a running in-process NATS server.
type Server struct {
	*server.Server
	opts Options
}

// Start starts a server and waits until it accepts clients.
func Start(o Options) (*Server, error) {
	port := o.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	so := &server.Options{
		Host:       "127.0.0.1",
		Port:       port,
		NoLog:      true,
		NoSigs:     true,
		MaxPayload: o.MaxPayload,
	}
	if o.TLS != nil {
		so.TLS = true
		so.TLSConfig = o.TLS
		so.TLSTimeout = 2
		so.TLSVerify = o.TLS.ClientAuth == tls.RequireAndVerifyClientCert
	}
	s, err := server.NewServer(so)
	if err != nil {
		return nil, fmt.Errorf("natstest: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		s.WaitForShutdown()
		return nil, errors.New("natstest: server not ready in 10 s")
	}
	return &Server{Server: s, opts: o}, nil
}

// URL is the URL clients connect to ("nats://127.0.0.1:port", or tls://).
func (s *Server) URL() string {
	if s.opts.TLS != nil {
		return "tls://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port()))
	}
	return s.ClientURL()
}

// Port is the port the server listens on.
func (s *Server) Port() int {
	return s.Addr().(*net.TCPAddr).Port
}

// Close shuts the server down and waits until it has stopped.
func (s *Server) Close() {
	s.Shutdown()
	s.WaitForShutdown()
}
