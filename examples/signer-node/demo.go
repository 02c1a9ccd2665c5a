package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/btcsuite/btcd/btcec/v2/schnorr"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	decredecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"

	"github.com/cairn-mpc/cairn/mpc"
	"github.com/cairn-mpc/cairn/store/bolt"
	"github.com/cairn-mpc/cairn/transport"
	"github.com/cairn-mpc/cairn/transport/e2e"
	"github.com/cairn-mpc/cairn/transport/nats/natstest"
)

// childEnv marks a process the demo started, so a test binary standing in
// for the command knows to act as it.
const childEnv = "CAIRN_SIGNER_NODE_CHILD"

type demoOpts struct {
	kind  string
	signs int
	keep  bool
	pq    bool
	out   io.Writer
}

func cmdDemo(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	o := demoOpts{out: os.Stdout}
	fs.StringVar(&o.kind, "transport", "tcp", "tcp or nats")
	fs.IntVar(&o.signs, "signs", 20, "signatures for the throughput figure")
	fs.BoolVar(&o.keep, "keep", false, "keep the cluster directory (configs, logs, stores)")
	fs.BoolVar(&o.pq, "pq", false, "seal with hybrid ML-KEM-768+X25519")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return runDemo(ctx, o)
}

// proc is one signer process.
type proc struct {
	id   transport.NodeID
	cmd  *exec.Cmd
	done chan struct{}
}

type demo struct {
	demoOpts
	dir   string
	exe   string
	procs map[transport.NodeID]*proc
	ids   []transport.NodeID
}

func runDemo(ctx context.Context, o demoOpts) (err error) {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "cairn-signer-demo-")
	if err != nil {
		return err
	}
	d := &demo{demoOpts: o, dir: dir, exe: exe, procs: map[transport.NodeID]*proc{}, ids: signerIDs(5)}
	defer func() {
		d.stopAll()
		if o.keep || err != nil {
			fmt.Fprintf(o.out, "cluster directory (configs, stores, logs): %s\n", dir)
		} else {
			os.RemoveAll(dir)
		}
	}()

	spec := clusterSpec{Dir: dir, Signers: 5, Kind: o.kind, KEM: e2e.X25519, Addrs: map[transport.NodeID]string{}}
	if o.pq {
		spec.KEM = e2e.MLKEM768X25519
	}
	var natsPort int
	switch o.kind {
	case "tcp":
		for _, id := range append(slices.Clone(d.ids), CoordinatorID) {
			port, err := freePort()
			if err != nil {
				return err
			}
			spec.Addrs[id] = fmt.Sprintf("127.0.0.1:%d", port)
		}
	case "nats":
		if natsPort, err = freePort(); err != nil {
			return err
		}
		spec.NATSURL = fmt.Sprintf("tls://127.0.0.1:%d", natsPort)
	default:
		return fmt.Errorf("unknown transport %q", o.kind)
	}
	if err := initCluster(spec); err != nil {
		return err
	}
	fmt.Fprintf(o.out, "Cairn signer-node demo: 5 signer processes and a coordinator on loopback over %s, every frame sealed (%v) and signed end to end\n", d.carrierName(), spec.KEM)
	if o.kind == "nats" {
		srv, err := startNATS(dir, natsPort)
		if err != nil {
			return err
		}
		defer srv.Close()
		fmt.Fprintf(o.out, "  embedded nats-server at %s, client certificates required\n", srv.URL())
	}

	start := time.Now()
	for _, id := range d.ids {
		if err := d.start(ctx, id); err != nil {
			return err
		}
	}
	fmt.Fprintf(o.out, "  5 signers up in %v (pids %s)\n", time.Since(start).Round(time.Millisecond), d.pids())

	coord, stopCoord, err := d.coordinator(ctx)
	if err != nil {
		return err
	}
	defer stopCoord()

	// Ed25519: DKG, sign, verify with crypto/ed25519.
	t0 := time.Now()
	edKey, err := coord.GenerateKey(ctx, mpc.KeySpec{Scheme: mpc.Ed25519, Threshold: 3, Signers: d.ids})
	if err != nil {
		return fmt.Errorf("ed25519 key: %w", err)
	}
	fmt.Fprintf(o.out, "\n[ed25519] 3-of-5 key %s in %v\n          public key %s\n", edKey.ID, time.Since(t0).Round(time.Millisecond), hex.EncodeToString(edKey.PublicKey))
	msg := []byte("transfer 10 SOL to 7xKX…")
	sig, err := d.sign(ctx, coord, edKey, msg)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.out, "[ed25519] signed by %v; crypto/ed25519.Verify: %v\n", sig.Signers, ed25519.Verify(edKey.PublicKey, msg, sig.Bytes))

	// BIP340 Schnorr: DKG, sign a digest, verify with btcec.
	t0 = time.Now()
	tpKey, err := coord.GenerateKey(ctx, mpc.KeySpec{Scheme: mpc.Schnorr, Threshold: 3, Signers: d.ids})
	if err != nil {
		return fmt.Errorf("bip340 key: %w", err)
	}
	fmt.Fprintf(o.out, "\n[bip340]  3-of-5 key %s in %v\n", tpKey.ID, time.Since(t0).Round(time.Millisecond))
	digest := sha256.Sum256([]byte("a Taproot sighash"))
	sig, err = d.sign(ctx, coord, tpKey, digest[:])
	if err != nil {
		return err
	}
	pk, err := schnorr.ParsePubKey(sig.PublicKey)
	if err != nil {
		return err
	}
	s, err := schnorr.ParseSignature(sig.Bytes)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.out, "[bip340]  signed by %v; btcec schnorr.Verify: %v\n", sig.Signers, s.Verify(digest[:], pk))

	// Threshold ECDSA (DKLs23): DKG with pairwise OT setup, sign a digest,
	// verify with decred's ecdsa and by public-key recovery.
	t0 = time.Now()
	ecKey, err := coord.GenerateKey(ctx, mpc.KeySpec{Scheme: mpc.ECDSA, Threshold: 3, Signers: d.ids})
	if err != nil {
		return fmt.Errorf("ecdsa key: %w", err)
	}
	fmt.Fprintf(o.out, "\n[ecdsa]   3-of-5 key %s in %v\n", ecKey.ID, time.Since(t0).Round(time.Millisecond))
	ecDigest := sha256.Sum256([]byte("an EVM transaction hash"))
	sig, err = d.sign(ctx, coord, ecKey, ecDigest[:])
	if err != nil {
		return err
	}
	if err := verifyECDSA(ecKey.PublicKey, ecDigest[:], sig.Bytes); err != nil {
		return err
	}
	fmt.Fprintf(o.out, "[ecdsa]   signed by %v; decred ecdsa.Verify and key recovery: ok\n", sig.Signers)

	// Throughput: concurrent signing requests.
	if o.signs > 0 {
		if err := d.throughput(ctx, coord, edKey, "ed25519", func(msg, sig []byte) bool { return ed25519.Verify(edKey.PublicKey, msg, sig) }); err != nil {
			return err
		}
		t0 = time.Now()
		made, err := coord.Presign(ctx, ecKey.ID, d.signs)
		if err != nil {
			return fmt.Errorf("presigning: %w", err)
		}
		fmt.Fprintf(d.out, "\n[ecdsa]   %d presignatures in %v\n", made, time.Since(t0).Round(time.Millisecond))
		verify := func(msg, sig []byte) bool { return verifyECDSA(ecKey.PublicKey, msg, sig) == nil }
		if err := d.throughput(ctx, coord, ecKey, "ecdsa, presigned", verify); err != nil {
			return err
		}
	}

	// kill -9 a signer of the last quorum: the coordinator routes around it.
	// kill -9 a signer while signatures are in flight: those it was part of
	// fail their attempt and are signed again by a quorum without it.
	victim := sig.Signers[0]
	if err := d.killDuring(ctx, coord, edKey, victim); err != nil {
		return err
	}
	sig, err = d.sign(ctx, coord, edKey, []byte("after the crash"))
	if err != nil {
		return err
	}
	if slices.Contains(sig.Signers, victim) {
		return fmt.Errorf("signed by the killed signer %s?", victim)
	}
	fmt.Fprintf(o.out, "[ed25519] signed by %v without %s\n", sig.Signers, victim)

	// Restart it; kill two others so that any quorum needs it.
	if err := d.start(ctx, victim); err != nil {
		return err
	}
	var others []transport.NodeID
	for _, id := range d.ids {
		if id != victim && len(others) < 2 {
			others = append(others, id)
		}
	}
	for _, id := range others {
		if err := d.kill(id); err != nil {
			return err
		}
	}
	fmt.Fprintf(o.out, "restarted %s (pid %d); kill -9 %v, so every quorum needs it\n", victim, d.procs[victim].cmd.Process.Pid, others)
	sig, err = d.sign(ctx, coord, edKey, []byte("after the restart"))
	if err != nil {
		return err
	}
	if !slices.Contains(sig.Signers, victim) {
		return fmt.Errorf("quorum %v does not include the restarted %s", sig.Signers, victim)
	}
	fmt.Fprintf(o.out, "[ed25519] signed by %v, the restarted %s included; verify: %v\n", sig.Signers, victim, ed25519.Verify(edKey.PublicKey, []byte("after the restart"), sig.Bytes))
	return nil
}

func (d *demo) carrierName() string {
	if d.kind == "nats" {
		return "NATS (mutual TLS to the server)"
	}
	return "TCP with mutual TLS 1.3"
}

func (d *demo) sign(ctx context.Context, coord *mpc.Coordinator, key *mpc.KeyInfo, msg []byte) (*mpc.Signature, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	t0 := time.Now()
	sig, err := coord.Sign(ctx, mpc.SignRequest{KeyID: key.ID, Message: msg})
	if err != nil {
		return nil, fmt.Errorf("signing with %s: %w", key.ID, err)
	}
	fmt.Fprintf(d.out, "          signature in %v\n", time.Since(t0).Round(time.Millisecond))
	return sig, nil
}

// verifyECDSA checks a 65-byte r‖s‖v signature with decred's ecdsa, and
// that it recovers to the key.
func verifyECDSA(pub, digest, sig []byte) error {
	if len(sig) != 65 {
		return errors.New("ecdsa signature is not 65 bytes")
	}
	var r, s secp256k1.ModNScalar
	r.SetByteSlice(sig[:32])
	s.SetByteSlice(sig[32:64])
	pk, err := secp256k1.ParsePubKey(pub)
	if err != nil {
		return err
	}
	if !decredecdsa.NewSignature(&r, &s).Verify(digest, pk) {
		return errors.New("ecdsa signature does not verify")
	}
	rec, _, err := decredecdsa.RecoverCompact(append([]byte{27 + 4 + sig[64]}, sig[:64]...), digest)
	if err != nil || !rec.IsEqual(pk) {
		return errors.New("ecdsa signature does not recover to the key")
	}
	return nil
}

func (d *demo) throughput(ctx context.Context, coord *mpc.Coordinator, key *mpc.KeyInfo, label string, verify func(msg, sig []byte) bool) error {
	const workers = 8
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	t0 := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(d.signs) {
					return
				}
				digest := sha256.Sum256(fmt.Appendf(nil, "payment %d", i))
				msg := digest[:]
				sig, err := coord.Sign(ctx, mpc.SignRequest{KeyID: key.ID, Message: msg})
				if err == nil && !verify(msg, sig.Bytes) {
					err = errors.New("signature does not verify")
				}
				if err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	wg.Wait()
	if e := failed.Load(); e != nil {
		return fmt.Errorf("throughput run: %w", *e)
	}
	el := time.Since(t0)
	fmt.Fprintf(d.out, "\n[%s] %d signatures, %d concurrent requests: %v, %.1f signatures/s\n", label, d.signs, workers, el.Round(time.Millisecond), float64(d.signs)/el.Seconds())
	return nil
}

// start launches signer id as a process and waits until it serves.
func (d *demo) start(ctx context.Context, id transport.NodeID) error {
	logf, err := os.OpenFile(filepath.Join(d.dir, string(id)+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(d.exe, "run", "-config", filepath.Join(d.dir, string(id)+".json"))
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	p := &proc{id: id, cmd: cmd, done: make(chan struct{})}
	d.procs[id] = p
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			if sc.Text() == "ready" && !signalled {
				close(ready)
				signalled = true
			}
		}
		_ = cmd.Wait()
		close(p.done)
	}()
	select {
	case <-ready:
		return nil
	case <-p.done:
		return fmt.Errorf("%s exited before serving (see %s.log)", id, id)
	case <-time.After(30 * time.Second):
		return fmt.Errorf("%s not ready in 30 s (see %s.log)", id, id)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// kill sends SIGKILL and waits for the process to be gone.
// killDuring starts 24 signing requests, 8 at a time, kills victim with
// SIGKILL once the first few have completed, and checks that every request
// still ends in a signature that verifies.
func (d *demo) killDuring(ctx context.Context, coord *mpc.Coordinator, key *mpc.KeyInfo, victim transport.NodeID) error {
	const total, workers = 24, 8
	var next, done atomic.Int64
	var failed atomic.Pointer[error]
	started := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	t0 := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > total {
					return
				}
				msg := fmt.Appendf(nil, "in flight %d", i)
				sig, err := coord.Sign(ctx, mpc.SignRequest{KeyID: key.ID, Message: msg})
				if err == nil && !ed25519.Verify(key.PublicKey, msg, sig.Bytes) {
					err = errors.New("signature does not verify")
				}
				if err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				if done.Add(1) == 4 {
					once.Do(func() { close(started) })
				}
			}
		})
	}
	select {
	case <-started:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := d.kill(victim); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\nkill -9 %s with %d of %d signatures done and more in flight\n", victim, done.Load(), total)
	wg.Wait()
	if e := failed.Load(); e != nil {
		return fmt.Errorf("signing through the crash: %w", *e)
	}
	fmt.Fprintf(d.out, "[ed25519] all %d signatures verify (%v)\n", total, time.Since(t0).Round(time.Millisecond))
	return nil
}

func (d *demo) kill(id transport.NodeID) error {
	p := d.procs[id]
	if err := p.cmd.Process.Kill(); err != nil {
		return err
	}
	<-p.done
	return nil
}

// stopAll asks every running signer to stop, and kills those that do not.
func (d *demo) stopAll() {
	for _, p := range d.procs {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range d.procs {
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
}

func (d *demo) pids() string {
	var s []string
	for _, id := range d.ids {
		s = append(s, fmt.Sprint(d.procs[id].cmd.Process.Pid))
	}
	return fmt.Sprint(s)
}

// coordinator runs the coordinator in this process.
func (d *demo) coordinator(ctx context.Context) (*mpc.Coordinator, func(), error) {
	cfg, err := loadConfig(filepath.Join(d.dir, string(CoordinatorID)+".json"))
	if err != nil {
		return nil, nil, err
	}
	logf, err := os.OpenFile(filepath.Join(d.dir, "coordinator.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, nil, err
	}
	log := slog.New(slog.NewTextHandler(logf, nil)).With("node", cfg.ID)
	id, err := cfg.identity()
	if err != nil {
		logf.Close()
		return nil, nil, err
	}
	st, err := bolt.Open(cfg.Store, nil)
	if err != nil {
		logf.Close()
		return nil, nil, err
	}
	tr, err := cfg.transport(ctx, id, log)
	if err != nil {
		st.Close()
		logf.Close()
		return nil, nil, err
	}
	coord, err := mpc.NewCoordinator(mpc.CoordinatorConfig{
		Node: cfg.ID, Identity: id.Signing, Transport: tr, Store: st, Signers: cfg.identityKeys(),
		AttemptTimeout: 3 * time.Second, Logger: log,
	})
	if err != nil {
		tr.Close()
		st.Close()
		logf.Close()
		return nil, nil, err
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = coord.Run(cctx) }()
	return coord, func() {
		cancel()
		tr.Close()
		<-done
		st.Close()
		logf.Close()
	}, nil
}

// startNATS runs an embedded nats-server with the cluster's server
// certificate, requiring client certificates from its CA.
func startNATS(dir string, port int) (*natstest.Server, error) {
	pki := filepath.Join(dir, "pki")
	c := &Config{Transport: TransportConfig{CA: filepath.Join(pki, "ca.pem"), Cert: filepath.Join(pki, "nats-server.pem"), Key: filepath.Join(pki, "nats-server.key")}}
	cert, pool, err := c.tls()
	if err != nil {
		return nil, err
	}
	return natstest.Start(natstest.Options{Port: port, TLS: &tls.Config{
		MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool,
	}})
}

// freePort asks the kernel for a free loopback port. Another process could
// take it before the demo does; on loopback in a demo that is acceptable.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
