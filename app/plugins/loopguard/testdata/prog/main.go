// A program with plenty of loops, calls, maps, floats, strings and goroutines: loopguard's
// test runs it before and after instrumenting and wants the same output.
package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
)

func primes(n int) []int {
	sieve := make([]bool, n+1)
	var out []int
	for i := 2; i <= n; i++ {
		if sieve[i] {
			continue
		}
		out = append(out, i)
		for j := i * i; j <= n; j += i {
			sieve[j] = true
		}
	}
	return out
}

func main() {
	p := primes(5000)
	fmt.Println("primes", len(p), p[len(p)-1])

	words := strings.Fields(strings.Repeat("crusher feeder pump sump heater fan ", 50))
	count := map[string]int{}
	for _, w := range words {
		count[w]++
	}
	keys := make([]string, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Println(k, count[k])
	}

	var sum float64
	for i := 1; i < 10000; i++ {
		sum += math.Sqrt(float64(i)) * math.Sin(float64(i))
		sum += float64(int32(sum*1e3)) / 1e9 // truncations
	}
	fmt.Printf("sum %.6f\n", sum)

	var wg sync.WaitGroup
	results := make([]int, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				results[g] += i * g
			}
		}()
	}
	wg.Wait()
	fmt.Println("goroutines", results)

	buf := make([]byte, 1<<16)
	copy(buf[100:], buf[:1000]) // memory.copy
	for i := range buf {
		buf[i] = byte(i)
	}
	clear(buf[:4096]) // memory.fill
	fmt.Println("bytes", buf[4095], buf[4096], buf[65535])
}
