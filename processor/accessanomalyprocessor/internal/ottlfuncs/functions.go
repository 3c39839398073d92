// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

// Package ottlfuncs registers the OTTL functions the processor adds to the
// standard converters: IsInCIDR, IsPrivateIP, InList, ContainsAny, IPNetwork,
// UAFamily and TokenLifetimeHours.
package ottlfuncs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottllog"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/ottlfuncs"

	"github.com/otelcol-databricks/otelcol-databricks/processor/accessanomalyprocessor/internal/lists"
)

type tctx = *ottllog.TransformContext

// Functions returns the standard OTTL converters plus the processor's own,
// bound to the configured named lists.
func Functions(set *lists.Set) map[string]ottl.Factory[tctx] {
	fns := ottlfuncs.StandardConverters[tctx]()
	for _, f := range []ottl.Factory[tctx]{
		newIsInCIDRFactory(set),
		newIsPrivateIPFactory(),
		newInListFactory(set),
		newContainsAnyFactory(set),
		newIPNetworkFactory(),
		newUAFamilyFactory(),
		newTokenLifetimeHoursFactory(),
	} {
		fns[f.Name()] = f
	}
	return fns
}

// IsInCIDRArguments: Networks holds CIDRs, plain addresses or names of lists
// of them, e.g. IsInCIDR(log.attributes["source.address"], ["allowed_cidrs", "10.0.0.0/8"]).
type IsInCIDRArguments struct {
	Target   ottl.StringLikeGetter[tctx]
	Networks []string
}

func newIsInCIDRFactory(set *lists.Set) ottl.Factory[tctx] {
	return ottl.NewFactory("IsInCIDR", &IsInCIDRArguments{}, func(_ ottl.FunctionContext, oArgs ottl.Arguments) (ottl.ExprFunc[tctx], error) {
		args, ok := oArgs.(*IsInCIDRArguments)
		if !ok {
			return nil, errors.New("IsInCIDR args must be of type *IsInCIDRArguments")
		}
		var values []string
		for _, n := range args.Networks {
			if set.Has(n) {
				cs := set.CIDRs(n)
				if cs == nil {
					return nil, fmt.Errorf("IsInCIDR: list %q does not hold networks", n)
				}
				values = append(values, set.Raw(n)...)
				continue
			}
			values = append(values, n)
		}
		cidrs, err := lists.NewCIDRSet("IsInCIDR", values)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, tCtx tctx) (any, error) {
			v, ok, err := args.Target.Get(ctx, tCtx)
			if err != nil || !ok {
				return false, err
			}
			a, ok := ParseAddr(v)
			return ok && cidrs.Contains(a), nil
		}, nil
	})
}

// IsPrivateIPArguments for IsPrivateIP(value).
type IsPrivateIPArguments struct {
	Target ottl.StringLikeGetter[tctx]
}

func newIsPrivateIPFactory() ottl.Factory[tctx] {
	return ottl.NewFactory("IsPrivateIP", &IsPrivateIPArguments{}, func(_ ottl.FunctionContext, oArgs ottl.Arguments) (ottl.ExprFunc[tctx], error) {
		args, ok := oArgs.(*IsPrivateIPArguments)
		if !ok {
			return nil, errors.New("IsPrivateIP args must be of type *IsPrivateIPArguments")
		}
		return func(ctx context.Context, tCtx tctx) (any, error) {
			v, ok, err := args.Target.Get(ctx, tCtx)
			if err != nil || !ok {
				return false, err
			}
			a, ok := ParseAddr(v)
			return ok && IsPrivate(a), nil
		}, nil
	})
}

// ListArguments for InList(value, "list_name") and ContainsAny(value, "list_name").
type ListArguments struct {
	Target ottl.StringLikeGetter[tctx]
	List   string
}

func listFactory(name string, set *lists.Set, match func(*lists.Matcher, string) bool) ottl.Factory[tctx] {
	return ottl.NewFactory(name, &ListArguments{}, func(_ ottl.FunctionContext, oArgs ottl.Arguments) (ottl.ExprFunc[tctx], error) {
		args, ok := oArgs.(*ListArguments)
		if !ok {
			return nil, fmt.Errorf("%s args must be of type *ListArguments", name)
		}
		m := set.Matcher(args.List)
		if m == nil {
			return nil, fmt.Errorf("%s: unknown list %q (define it under lists)", name, args.List)
		}
		return func(ctx context.Context, tCtx tctx) (any, error) {
			v, ok, err := args.Target.Get(ctx, tCtx)
			if err != nil || !ok {
				return false, err
			}
			return match(m, v), nil
		}, nil
	})
}

func newInListFactory(set *lists.Set) ottl.Factory[tctx] {
	return listFactory("InList", set, (*lists.Matcher).Match)
}

func newContainsAnyFactory(set *lists.Set) ottl.Factory[tctx] {
	return listFactory("ContainsAny", set, (*lists.Matcher).Contains)
}

// IPNetworkArguments for IPNetwork(value, 24, 48).
type IPNetworkArguments struct {
	Target ottl.StringLikeGetter[tctx]
	V4Bits int64
	V6Bits int64
}

func newIPNetworkFactory() ottl.Factory[tctx] {
	return ottl.NewFactory("IPNetwork", &IPNetworkArguments{}, func(_ ottl.FunctionContext, oArgs ottl.Arguments) (ottl.ExprFunc[tctx], error) {
		args, ok := oArgs.(*IPNetworkArguments)
		if !ok {
			return nil, errors.New("IPNetwork args must be of type *IPNetworkArguments")
		}
		if args.V4Bits < 0 || args.V4Bits > 32 || args.V6Bits < 0 || args.V6Bits > 128 {
			return nil, fmt.Errorf("IPNetwork: prefix lengths %d/%d out of range", args.V4Bits, args.V6Bits)
		}
		return func(ctx context.Context, tCtx tctx) (any, error) {
			v, ok, err := args.Target.Get(ctx, tCtx)
			if err != nil || !ok {
				return nil, err
			}
			a, ok := ParseAddr(v)
			if !ok {
				return nil, nil
			}
			return Network(a, int(args.V4Bits), int(args.V6Bits)).String(), nil
		}, nil
	})
}

// UAFamilyArguments for UAFamily(value).
type UAFamilyArguments struct {
	Target ottl.StringLikeGetter[tctx]
}

func newUAFamilyFactory() ottl.Factory[tctx] {
	return ottl.NewFactory("UAFamily", &UAFamilyArguments{}, func(_ ottl.FunctionContext, oArgs ottl.Arguments) (ottl.ExprFunc[tctx], error) {
		args, ok := oArgs.(*UAFamilyArguments)
		if !ok {
			return nil, errors.New("UAFamily args must be of type *UAFamilyArguments")
		}
		return func(ctx context.Context, tCtx tctx) (any, error) {
			v, ok, err := args.Target.Get(ctx, tCtx)
			if err != nil || !ok {
				return nil, err
			}
			return UAFamily(v), nil
		}, nil
	})
}

// TokenLifetimeHoursArguments for TokenLifetimeHours(expiration_epoch_ms).
type TokenLifetimeHoursArguments struct {
	Expiration ottl.Getter[tctx]
}

// NoExpiry is what TokenLifetimeHours returns for a token that never expires
// (expiration missing, null, 0 or negative).
const NoExpiry = -1.0

func newTokenLifetimeHoursFactory() ottl.Factory[tctx] {
	return ottl.NewFactory("TokenLifetimeHours", &TokenLifetimeHoursArguments{}, func(_ ottl.FunctionContext, oArgs ottl.Arguments) (ottl.ExprFunc[tctx], error) {
		args, ok := oArgs.(*TokenLifetimeHoursArguments)
		if !ok {
			return nil, errors.New("TokenLifetimeHours args must be of type *TokenLifetimeHoursArguments")
		}
		return func(ctx context.Context, tCtx tctx) (any, error) {
			v, err := args.Expiration.Get(ctx, tCtx)
			if err != nil {
				return nil, err
			}
			ms, ok := toInt64(v)
			if !ok || ms <= 0 {
				return NoExpiry, nil
			}
			issued := tCtx.GetLogRecord().Timestamp().AsTime()
			return time.UnixMilli(ms).Sub(issued).Hours(), nil
		}, nil
	})
}

func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		return int64(x), true
	case string:
		if x == "" || x == "null" {
			return 0, false
		}
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			f, ferr := strconv.ParseFloat(x, 64)
			if ferr != nil {
				return 0, false
			}
			return int64(f), true
		}
		return n, true
	default:
		return 0, false
	}
}
