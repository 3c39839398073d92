// Command kafkabroker runs an in-process Kafka cluster (franz-go's kfake) on loopback for the
// end-to-end tests of the Kafka scale-out variant (configs/scale-out/kafka-*.yaml).
//
// It is its own Go module: every published kfake needs a newer franz-go than the one the
// distribution's kafka components pin, and a separate module keeps the distribution's
// dependency graph untouched (the root module's ./... does not include it).
//
//	kafkabroker -ports 0,0 -topic databricks_audit=6 -broker-config message.max.bytes=16777216
//
// It prints one line, "brokers <addr>,<addr>...", once the cluster listens, then serves until
// SIGTERM or SIGINT.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "kafkabroker:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("kafkabroker", flag.ContinueOnError)
	ports := fs.String("ports", "0", "comma-separated loopback ports, one broker each (0: any free port)")
	var topics, brokerConfigs listFlag
	fs.Var(&topics, "topic", "name=partitions of a topic to create at start (repeatable)")
	fs.Var(&brokerConfigs, "broker-config", "key=value broker configuration, e.g. message.max.bytes=16777216 (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}

	opts, err := clusterOptions(*ports, topics, brokerConfigs)
	if err != nil {
		return err
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		return fmt.Errorf("start cluster: %w", err)
	}
	defer cluster.Close()
	fmt.Printf("brokers %s\n", strings.Join(cluster.ListenAddrs(), ","))

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
	return nil
}

func clusterOptions(ports string, topics, brokerConfigs []string) ([]kfake.Opt, error) {
	var portList []int
	for _, p := range strings.Split(ports, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 0 || n > 65535 {
			return nil, fmt.Errorf("-ports: %q is not a port", p)
		}
		portList = append(portList, n)
	}
	// kfake listens on 127.0.0.1 for each port; port 0 picks a free one.
	opts := []kfake.Opt{kfake.NumBrokers(len(portList)), kfake.Ports(portList...)}
	for _, t := range topics {
		name, parts, ok := strings.Cut(t, "=")
		n, err := strconv.Atoi(parts)
		if !ok || name == "" || err != nil || n <= 0 {
			return nil, fmt.Errorf("-topic: %q is not name=partitions", t)
		}
		opts = append(opts, kfake.SeedTopics(int32(n), name))
	}
	if len(brokerConfigs) > 0 {
		cfg := map[string]string{}
		for _, kv := range brokerConfigs {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("-broker-config: %q is not key=value", kv)
			}
			cfg[k] = v
		}
		opts = append(opts, kfake.BrokerConfigs(cfg))
	}
	return opts, nil
}
