// Command signer-node runs one Cairn signer as its own process, over TCP
// with mutual TLS or over NATS, with every frame end-to-end sealed and
// signed; and it demonstrates a cluster of them.
//
//	signer-node init -dir DIR -transport tcp|nats [-signers 5] [-base-port 7100] [-nats-url URL]
//	    writes a dev CA, node certificates, identities, KEKs and one JSON
//	    configuration per node (see Config)
//	signer-node run -config DIR/signer-1.json
//	    serves as that signer until SIGINT or SIGTERM; prints "ready" on
//	    stdout once it serves
//	signer-node demo [-transport tcp|nats] [-signs 20] [-keep]
//	    starts 5 signer processes and a coordinator on loopback, generates
//	    keys, signs, kills a signer with SIGKILL and signs with another
//	    quorum, restarts it and signs with it again
//
// The coordinator has no process of its own here: it is a library that an
// application (custody.Service) embeds, and the demo embeds it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/cairn-mpc/cairn/mpc"
	"github.com/cairn-mpc/cairn/store"
	"github.com/cairn-mpc/cairn/store/bolt"
	"github.com/cairn-mpc/cairn/transport"
	"github.com/cairn-mpc/cairn/transport/e2e"
)

func main() {
	if err := dispatch(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "signer-node:", err)
		os.Exit(1)
	}
}

func dispatch(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: signer-node init|run|demo [flags]")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "init":
		return cmdInit(args[1:])
	case "run":
		return cmdRun(ctx, args[1:])
	case "demo":
		return cmdDemo(ctx, args[1:])
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func cmdInit(args []string) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	dir := fs.String("dir", "", "directory to write the cluster into")
	kind := fs.String("transport", "tcp", "tcp or nats")
	n := fs.Int("signers", 5, "number of signers")
	base := fs.Int("base-port", 7100, "TCP: signer-i listens on base+i, the coordinator on base")
	url := fs.String("nats-url", "tls://127.0.0.1:4222", "NATS: the server's URL")
	pq := fs.Bool("pq", false, "seal with hybrid ML-KEM-768+X25519 instead of X25519")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("init: -dir is required")
	}
	spec := clusterSpec{Dir: *dir, Signers: *n, Kind: *kind, KEM: e2e.X25519, Addrs: map[transport.NodeID]string{}}
	if *pq {
		spec.KEM = e2e.MLKEM768X25519
	}
	switch *kind {
	case "tcp":
		spec.Addrs[CoordinatorID] = fmt.Sprintf("127.0.0.1:%d", *base)
		for i, id := range signerIDs(*n) {
			spec.Addrs[id] = fmt.Sprintf("127.0.0.1:%d", *base+i+1)
		}
	case "nats":
		spec.NATSURL = *url
	default:
		return fmt.Errorf("init: unknown transport %q", *kind)
	}
	if err := initCluster(spec); err != nil {
		return err
	}
	fmt.Printf("wrote a %d-signer %s cluster to %s\n", *n, *kind, *dir)
	return nil
}

func cmdRun(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	path := fs.String("config", "", "the node's configuration file")
	level := fs.String("log", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		return err
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	if cfg.Role != "signer" {
		return fmt.Errorf("%s is a %s; run serves signers (a coordinator is embedded by its application)", cfg.ID, cfg.Role)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv})).With("node", cfg.ID)
	return runSigner(ctx, cfg, log, func() { fmt.Println("ready") })
}

// runSigner serves one signer until ctx ends; ready is called once it
// serves.
func runSigner(ctx context.Context, cfg *Config, log *slog.Logger, ready func()) error {
	id, err := cfg.identity()
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	kek, err := store.ReadKEKFile(cfg.KEK)
	if err != nil {
		return err
	}
	st, err := bolt.Open(cfg.Store, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	tr, err := cfg.transport(ctx, id, log)
	if err != nil {
		return fmt.Errorf("transport: %w", err)
	}
	defer tr.Close()
	s, err := mpc.NewSigner(mpc.SignerConfig{
		Node: cfg.ID, Identity: id.Signing, Transport: tr, Store: st, Sealer: store.NewSealer(kek),
		Peers: cfg.identityKeys(), Coordinators: cfg.Coordinators, Logger: log,
	})
	if err != nil {
		return err
	}
	keys, err := s.Keys(ctx)
	if err != nil {
		return fmt.Errorf("opening held shares: %w", err)
	}
	log.Info("signer serving", "transport", cfg.Transport.Kind, "keys", len(keys))
	ready()
	if err := s.Run(ctx); err != nil && ctx.Err() == nil {
		return err
	}
	log.Info("signer stopped")
	return nil
}
