package curve

import (
	"crypto/rand"
	"testing"
)

func BenchmarkMul(b *testing.B) {
	for _, c := range curves {
		s, _ := c.RandomScalar(rand.Reader)
		P := c.MulBase(s)
		b.Run(c.Name()+"/base", func(b *testing.B) {
			for range b.N {
				c.MulBase(s)
			}
		})
		b.Run(c.Name()+"/point", func(b *testing.B) {
			for range b.N {
				P.Mul(s)
			}
		})
		b.Run(c.Name()+"/invert", func(b *testing.B) {
			for range b.N {
				s.Invert()
			}
		})
		b.Run(c.Name()+"/decode", func(b *testing.B) {
			enc := P.Bytes()
			for range b.N {
				_, _ = c.DecodePoint(enc)
			}
		})
	}
}
