package simulator

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
)

// Principal is a simulated identity.
type Principal struct {
	ID            string // SCIM id
	Email         string // user.email value: e-mail for users, application id for service principals
	DisplayName   string
	ServicePrinc  bool
	ApplicationID string
	Admin         bool
	Groups        []string
	TimeZone      string // IANA name
	WorkStart     int    // local hour work starts
	WorkEnd       int    // local hour work ends
	HomeIP        string // usual network outside the office
	OfficeIP      string // corporate egress address
	UserAgents    []string
	Tables        []string // tables usually read
	Secrets       []string // scope/key usually read
	ScheduleMin   int      // service principals: minute of the hour their job runs
}

// GeoLocation is the built-in location of a simulated network. The non-documentation networks
// are those of MaxMind's public GeoIP2 test databases, so a geoip processor loaded with the test
// City database resolves them the same way.
type GeoLocation struct {
	CIDR      string
	City      string
	Country   string
	Latitude  float64
	Longitude float64
}

var geoNetworks = []GeoLocation{
	{"203.0.113.0/24", "Berlin", "DE", 52.52, 13.40},
	{"198.51.100.0/24", "Frankfurt am Main", "DE", 50.11, 8.68},
	{"81.2.69.142/31", "London", "GB", 51.5142, -0.0931},
	{"2.125.160.216/29", "Boxford", "GB", 51.75, -1.25},
	{"89.160.20.112/28", "Linköping", "SE", 58.4167, 15.6167},
	{"216.160.83.56/29", "Milton", "US", 47.2513, -122.3149},
	{"175.16.199.0/24", "Changchun", "CN", 43.88, 125.3228},
	{"192.0.2.0/24", "", "", 0, 0},
}

// GeoLookup returns the simulated location of ip, if it is in a simulated public network.
func GeoLookup(ip string) (GeoLocation, bool) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return GeoLocation{}, false
	}
	for _, g := range geoNetworks {
		if netip.MustParsePrefix(g.CIDR).Contains(a) && g.City != "" {
			return g, true
		}
	}
	return GeoLocation{}, false
}

// addrIn returns the n-th address (wrapping) of a prefix, skipping network/broadcast in /24s.
func addrIn(cidr string, n int) string {
	p := netip.MustParsePrefix(cidr)
	size := 1 << (32 - p.Bits())
	off := n % size
	if size >= 256 {
		off = 1 + n%(size-2)
	}
	a := p.Masked().Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v += uint32(off)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
}

var (
	firstNames = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
		"karl", "laura", "mallory", "nina", "oscar", "peggy", "quentin", "rupert", "sybil", "trent",
		"ursula", "victor", "wendy", "xavier", "yvonne", "zoe"}
	lastNames = []string{"smith", "muller", "garcia", "rossi", "novak", "berg", "kowalski", "dubois",
		"jansen", "silva", "nakamura", "oconnor", "weber", "lindqvist", "moreau"}
	timeZones = []struct {
		name      string
		homeCIDRs []string
	}{
		{"Europe/Berlin", []string{"198.51.100.0/24"}},
		{"Europe/London", []string{"81.2.69.142/31", "2.125.160.216/29"}},
		{"Europe/Stockholm", []string{"89.160.20.112/28"}},
		{"America/New_York", []string{"198.51.100.0/24"}},
		{"America/Los_Angeles", []string{"216.160.83.56/29"}},
	}
	browserUAs = []string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	}
	toolUAs = []string{
		"databricks-cli/0.236.0 databricks-sdk-go/0.54.0 go/1.23.4 os/darwin",
		"databricks-sdk-py/0.38.0 python/3.11.9 os/linux auth/pat",
		"dbt-databricks/1.9.1 databricks-sql-connector/3.6.0",
		"PowerBI-Databricks/2.6.36 (Simba)",
	}
	// newDeviceUAs are browsers nobody starts with: a new laptop brings one of them.
	newDeviceUAs = []string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 15_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/132.0.0.0 Safari/537.36 Edg/132.0.0.0",
	}
	spUAs = []string{
		"databricks-sdk-go/0.54.0 go/1.23.4 os/linux auth/oauth-m2m",
		"Apache-HttpClient/4.5.14 (Java/1.8.0_412)",
		"databricks-sdk-py/0.38.0 python/3.11.9 os/linux auth/oauth-m2m",
	}
	// Service user agents of data-plane calls (noise the detections filter out).
	serviceUAs = []string{"Databricks-Service/driver", "Databricks-Runtime/15.4.x-scala2.12", "wsfs/1.0"}

	catalogs = []string{"main", "analytics", "sales"}
	schemas  = []string{"raw", "curated", "reporting", "ml"}
	tables   = []string{"orders", "customers", "events", "sessions", "invoices", "products", "shipments",
		"web_logs", "campaigns", "forecasts", "inventory", "returns", "payments", "clicks", "leads"}
	// SensitiveTables match the example sensitive_tables lists ("main.hr.*", "*.pii_*").
	SensitiveTables = []string{"main.hr.salaries", "main.hr.employees", "main.hr.reviews",
		"sales.crm.pii_contacts", "main.finance.pii_cards"}
	secretScopes = []string{"prod-db", "kafka", "s3-keys", "api-tokens"}
	secretKeys   = []string{"password", "user", "client-secret", "access-key", "token", "cert"}
)

// Population is the set of identities, networks and securables of a scenario.
type Population struct {
	Users             []*Principal
	ServicePrincipals []*Principal
	Groups            map[string][]string // group name -> member emails
	AllTables         []string
	byEmail           map[string]*Principal
}

// ByEmail finds a principal by its user.email value.
func (p *Population) ByEmail(email string) *Principal { return p.byEmail[email] }

func newPopulation(s *Scenario) *Population {
	pop := &Population{Groups: map[string][]string{}, byEmail: map[string]*Principal{}}
	for _, c := range catalogs {
		for _, sc := range schemas {
			for _, t := range tables {
				pop.AllTables = append(pop.AllTables, c+"."+sc+"."+t)
			}
		}
	}
	domain := "example.com"
	teams := []string{"data-eng", "analysts", "data-science", "finance", "platform"}
	seen := map[string]int{}
	for i := 0; i < s.Users; i++ {
		r := stream(s.Seed, "user", i)
		first, last := pick(r, firstNames), pick(r, lastNames)
		local := first + "." + last
		if n := seen[local]; n > 0 {
			local = fmt.Sprintf("%s%d", local, n+1)
		}
		seen[first+"."+last]++
		tz := timeZones[r.IntN(len(timeZones))]
		u := &Principal{
			ID:          stableDigits(16, s.Seed, "uid", i),
			Email:       local + "@" + domain,
			DisplayName: strings.ToUpper(first[:1]) + first[1:] + " " + strings.ToUpper(last[:1]) + last[1:],
			TimeZone:    tz.name,
			WorkStart:   7 + r.IntN(3),
			OfficeIP:    addrIn(s.Workspace.CorporateCIDRs[0], 10+r.IntN(200)),
			HomeIP:      addrIn(pick(r, tz.homeCIDRs), r.IntN(250)),
		}
		u.WorkEnd = u.WorkStart + 8 + r.IntN(3)
		u.UserAgents = []string{pick(r, browserUAs)}
		if r.Float64() < 0.6 {
			u.UserAgents = append(u.UserAgents, pick(r, toolUAs))
		}
		team := teams[i%len(teams)]
		u.Groups = []string{"users", team}
		u.Admin = i < max(1, s.Users/25)
		if u.Admin {
			u.Groups = append(u.Groups, "admins")
		}
		for n := 3 + r.IntN(5); len(u.Tables) < n; {
			t := pick(r, pop.AllTables)
			if !contains(u.Tables, t) {
				u.Tables = append(u.Tables, t)
			}
		}
		if team == "finance" {
			// Some people do read sensitive tables every day: that is normal for them.
			u.Tables = append(u.Tables, SensitiveTables[r.IntN(2)])
		}
		u.Secrets = []string{pick(r, secretScopes) + "/" + pick(r, secretKeys)}
		pop.Users = append(pop.Users, u)
		pop.byEmail[u.Email] = u
		for _, g := range u.Groups {
			pop.Groups[g] = append(pop.Groups[g], u.Email)
		}
	}
	spNames := []string{"etl-nightly", "ml-scoring", "bi-refresh", "ingest-kafka", "dq-checks", "export-s3"}
	for i := 0; i < s.ServicePrincipals; i++ {
		r := stream(s.Seed, "sp", i)
		appID := stableUUID(s.Seed, "sp-app", i)
		sp := &Principal{
			ID:            stableDigits(16, s.Seed, "spid", i),
			Email:         appID,
			ApplicationID: appID,
			DisplayName:   spNames[i%len(spNames)] + fmt.Sprint(i/len(spNames)+1),
			ServicePrinc:  true,
			TimeZone:      "UTC",
			OfficeIP:      addrIn(s.Workspace.CorporateCIDRs[len(s.Workspace.CorporateCIDRs)-1], 200+i%50),
			UserAgents:    []string{pick(r, spUAs)},
			ScheduleMin:   r.IntN(60),
			Groups:        []string{"service-principals"},
		}
		for n := 2 + r.IntN(3); len(sp.Tables) < n; {
			t := pick(r, pop.AllTables)
			if !contains(sp.Tables, t) {
				sp.Tables = append(sp.Tables, t)
			}
		}
		sp.Secrets = []string{pick(r, secretScopes) + "/" + pick(r, secretKeys)}
		pop.ServicePrincipals = append(pop.ServicePrincipals, sp)
		pop.byEmail[sp.Email] = sp
		pop.Groups["service-principals"] = append(pop.Groups["service-principals"], sp.Email)
	}
	return pop
}

func contains[T comparable](xs []T, x T) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// pickUser chooses a deterministic non-admin user for an attack without an explicit identity.
func (p *Population) pickUser(r *rand.Rand) *Principal {
	for range 50 {
		u := pick(r, p.Users)
		if !u.Admin {
			return u
		}
	}
	return p.Users[0]
}
