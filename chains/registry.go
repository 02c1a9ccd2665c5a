package chains

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Registry holds one Chain per network name. It is safe for concurrent use.
type Registry struct {
	mu     sync.RWMutex
	chains map[string]Chain
}

// NewRegistry returns a registry holding cs.
func NewRegistry(cs ...Chain) (*Registry, error) {
	r := &Registry{chains: map[string]Chain{}}
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Register adds c under its network's name, which must be new.
func (r *Registry) Register(c Chain) error {
	name := c.Network().Name
	if name == "" {
		return fmt.Errorf("chains: a network needs a name")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.chains == nil {
		r.chains = map[string]Chain{}
	}
	if _, ok := r.chains[name]; ok {
		return fmt.Errorf("chains: network %q registered twice", name)
	}
	r.chains[name] = c
	return nil
}

// Chain returns the adapter of the named network, or ErrUnknownNetwork.
func (r *Registry) Chain(network string) (Chain, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.chains[network]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownNetwork, network)
	}
	return c, nil
}

// Networks lists the registered networks by name.
func (r *Registry) Networks() []Network {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Network, 0, len(r.chains))
	for _, c := range r.chains {
		out = append(out, c.Network())
	}
	slices.SortFunc(out, func(a, b Network) int { return strings.Compare(a.Name, b.Name) })
	return out
}
