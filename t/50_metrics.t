# Prometheus metrics (SetHandler pingone-consent-metrics) on a server of its
# own, so every count starts at zero: decisions by virtual host, outcome and
# source, PingOne requests by endpoint and status class, the latency
# histogram, the registry's counters and the gauges; the exposition passes
# `promtool check metrics` (HELP and TYPE once per family); and, under the
# event MPM, a real Prometheus server scrapes it once and answers a query.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(time sleep);

# The suite's MPM (run-httpd-tests.sh writes it into inherit.conf).
my $mpm = 'event';
if (open my $ic, '<', "$FindBin::Bin/conf/inherit.conf") {
    local $/;
    ($mpm) = (<$ic> // '') =~ /LoadModule mpm_(\w+)_module/ or $mpm = 'event';
}
my $with_prometheus = $mpm eq 'event';

plan tests => 37 + ($with_prometheus ? 3 : 0);
sim_reset();

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0);
    return $s->sockport;
}

my $vport = free_port();
my $app = $PCTest::APP1;
my $auth = 'Bearer metrics-webhook-0123456789';
my $srv = extra_server(name => 'metrics', mpm => $mpm, conf => <<"EOC");
Listen 127.0.0.1:$vport
<Location /pingone/metrics>
    SetHandler pingone-consent-metrics
    Require all granted
</Location>
<Location /pingone/webhook>
    SetHandler pingone-consent-webhook
    PingOneWebhookAuthorization "$auth"
    Require all granted
</Location>
<Location /index.html>
    Require all granted
    PingOneConsent On
    PingOneConsentUserFrom env:OIDC_CLAIM_sub
    PingOneConsentApplication $app
    PingOneConsentScopes openid profile
</Location>
# A host whose PingOne is unreachable (nothing listens on port 9) and that
# fails open: its decisions are its own.
<VirtualHost 127.0.0.1:$vport>
    ServerName vhost.metrics.test
    PingOneAPIBaseURL http://127.0.0.1:9/v1
    PingOneAuthBaseURL http://127.0.0.1:9
    PingOneConsentFailMode open
    <Location /index.html>
        Require all granted
        PingOneConsent On
        PingOneConsentUserFrom env:OIDC_CLAIM_sub
        PingOneConsentApplication $app
    </Location>
    <Location /pingone/metrics>
        SetHandler pingone-consent-metrics
        Require all granted
    </Location>
</VirtualHost>
EOC

my $http = HTTP::Tiny->new(timeout => 30);
my $base = "http://127.0.0.1:$srv->{port}";
sub get { $srv->{get}->(@_)->{status} }

# Decisions on the main server ...
my @seen = (get('/index.html', $U{alice}), get('/index.html', $U{alice}),
            get('/index.html', $U{carol}), get('/index.html', $U{bob}),
            get('/index.html', $U{ghost}), get('/index.html', 'not-a-uuid'));
sim_fault(endpoint => 'consents', type => 'status', status => 503, count => 1);
push @seen, get('/index.html', $U{dave});
ok t_cmp("@seen", '200 200 403 403 403 403 503',
         'alice twice, carol (scope), bob (revoked), an unknown user, a bad user, PingOne 503');
# ... one on the other host, fail-open ...
my $v = $http->get("http://127.0.0.1:$vport/index.html", {headers => {'X-Test-Sub' => $U{erin}}});
ok t_cmp($v->{status}, 200, 'the other host fails open');
# ... and two webhook deliveries, one refused.
my $events = encode_json([{action => {type => 'OAUTH_CONSENT.REVOKED'},
                           resources => [{type => 'USER', id => $U{frank}}]}]);
my @hook = map {
    $http->post("$base/pingone/webhook", {content => $events, headers => {
        'Content-Type' => 'application/json', Authorization => $_}})->{status}
} ($auth, 'Bearer wrong-0123456789abcdef');
ok t_cmp("@hook", '200 401', 'webhook deliveries: one accepted, one refused');

# Decisions are counted when their request ends: wait until all 8 are in.
sub scrape { $http->get("$base/pingone/metrics") }
sub samples {
    my ($text) = @_;
    my %s;
    for (split /\n/, $text) {
        next if /^#/ || !/\S/;
        my ($k, $val) = /^(\S+(?:\{.*\})?) (\S+)$/ or next;
        $s{$k} = $val;
    }
    return \%s;
}
sub dec_total {
    my ($s) = @_;
    my $t = 0;
    $t += $s->{$_} for grep { /^pingone_consent_decisions_total\{/ } keys %$s;
    return $t;
}
my ($r, $s);
for (1 .. 100) {
    $r = scrape();
    $s = samples($r->{content});
    last if dec_total($s) >= 8;
    sleep 0.1;
}
ok t_cmp($r->{status}, 200, 'GET metrics: 200');
ok t_cmp($r->{headers}{'content-type'}, 'text/plain; version=0.0.4; charset=utf-8',
         'the text exposition format, version 0.0.4');
ok t_cmp(dec_total($s), 8, 'eight decisions counted, once each');

# Per virtual host: the main server's label, and the other host's.
my ($main) = map { /server="([^"]+)"/ } grep { /^pingone_consent_decisions_total\{.*outcome="deny:scope"/ && $s->{$_} } keys %$s;
my $vlabel = "vhost.metrics.test:$vport";
sub dec { $s->{sprintf 'pingone_consent_decisions_total{server="%s",outcome="%s",source="%s"}', @_} // 'absent' }
ok t_cmp(defined $main && $main ne $vlabel ? 1 : 0, 1, "the main server has a label of its own ($main)");
ok t_cmp(dec($main, 'allow', 'pingone'), 1, 'allow from PingOne');
ok t_cmp(dec($main, 'allow', 'cache'), 1, 'allow from the cache');
ok t_cmp(dec($main, 'deny:scope', 'pingone'), 1, 'deny:scope:profile counted as deny:scope');
ok t_cmp(dec($main, 'deny:revoked', 'pingone'), 1, 'deny:revoked');
ok t_cmp(dec($main, 'deny:unknown-user', 'pingone'), 1, 'deny:unknown-user');
ok t_cmp(dec($main, 'deny:bad-user', 'none'), 1, 'deny:bad-user, without a source');
ok t_cmp(dec($main, 'error:upstream-5xx', 'none'), 1, 'error:upstream-503 counted as error:upstream-5xx');
ok t_cmp(dec($main, 'allow', 'fail-open'), 0, 'the main server did not fail open (a zero series)');
ok t_cmp(dec($vlabel, 'allow', 'fail-open'), 1, "the other host's fail-open allow, under its own label");
ok t_cmp(scalar(grep { /^pingone_consent_decisions_total\{/ && !/server="(\Q$main\E|\Q$vlabel\E)"/ } keys %$s), 0,
         'no other server label');

# PingOne requests by endpoint and status class.
sub req_n { $s->{sprintf 'pingone_consent_pingone_requests_total{endpoint="%s",class="%s"}', @_} // 'absent' }
ok t_cmp(join(' ', req_n('token', '2xx'), req_n('consents', '2xx'), req_n('consents', '4xx'),
              req_n('consents', '5xx'), req_n('token', 'connect'), req_n('users', '2xx')),
         '1 3 1 1 1 0', 'requests: token 2xx, consents 2xx / 4xx (unknown user) / 5xx, token connect (the other host)');

# The registry's counters.
ok t_cmp($s->{pingone_consent_cache_hits_total}, 1, 'cache hits');
ok t_cmp($s->{pingone_consent_cache_misses_total}, 6, 'cache misses');
ok t_cmp($s->{pingone_consent_fail_open_total}, 1, 'fail-open lookups');
ok t_cmp(($s->{'pingone_consent_webhook_deliveries_total{result="accepted"}'} // '') . ' ' .
         ($s->{'pingone_consent_webhook_deliveries_total{result="refused"}'} // ''), '1 1',
         'webhook deliveries by result');
ok t_cmp($s->{pingone_consent_users_dropped_total}, 1, 'users dropped by the delivery');

# The latency histogram: cumulative buckets, +Inf = _count = lookups asked.
{
    my $h = 'pingone_consent_pingone_lookup_duration_seconds';
    my @b = map { [$_ =~ /le="([^"]+)"/, $s->{$_}] } grep { /^${h}_bucket\{/ } keys %$s;
    @b = sort { ($a->[0] eq '+Inf' ? 1e9 : $a->[0]) <=> ($b->[0] eq '+Inf' ? 1e9 : $b->[0]) } @b;
    my $mono = 1;
    $mono &&= $b[$_][1] >= $b[$_ - 1][1] for 1 .. $#b;
    ok t_cmp(scalar(@b) . " $mono", '16 1', 'latency: 16 buckets (15 bounds and +Inf), cumulative');
    ok t_cmp("$b[-1][1] $s->{\"${h}_count\"}", '6 6', '+Inf bucket = _count = 6 lookups that asked PingOne');
    ok t_cmp($s->{"${h}_sum"} > 0 ? 1 : 0, 1, "_sum in seconds ($s->{\"${h}_sum\"})");
}

# Gauges.
ok t_cmp(join(' ', map { $s->{"pingone_consent_$_"} // 'absent' } qw(budget_rate backoff_seconds)), '50 0',
         'the call budget (50/s) and no 429 back-off');
ok t_cmp(($s->{pingone_consent_cache_capacity} // 0) > 0 && ($s->{pingone_consent_cache_entries} // 0) > 0 &&
         ($s->{pingone_consent_token_remaining_seconds} // 0) > 0 ? 1 : 0, 1,
         'cache capacity and entries, token seconds left');

# HELP and TYPE exactly once per family, every sample under its family.
{
    my (%help, %type, $bad);
    my $family = '';
    for (split /\n/, $r->{content}) {
        if (/^# HELP (\S+) /) { $help{$1}++; $family = $1; next }
        if (/^# TYPE (\S+) /) { $type{$1}++; next }
        my ($name) = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/ or next;
        $bad++ unless $name eq $family || $name =~ /^\Q$family\E_(bucket|sum|count)$/;
    }
    my @twice = grep { $help{$_} != 1 || ($type{$_} // 0) != 1 } keys %help;
    ok t_cmp(scalar(@twice) . ' ' . ($bad // 0) . ' ' . scalar(keys %help) . ' ' . scalar(keys %type) ,
             '0 0 ' . scalar(keys %help) . ' ' . scalar(keys %help),
             'HELP and TYPE once per family (' . scalar(keys %help) . ' families), samples grouped');
}

# promtool (Debian package prometheus, installed by make test).
{
    my $dir = $srv->{dir};
    my $promtool = -x '/usr/bin/promtool' ? '/usr/bin/promtool' : 'promtool';
    open my $fh, '>', "$dir/metrics.txt" or die $!;
    print $fh $r->{content};
    close $fh;
    my $out = `$promtool check metrics < $dir/metrics.txt 2>&1`;
    my $rc = $? >> 8;
    ok t_cmp("rc=$rc $out", 'rc=0 ', 'promtool check metrics: no problems (install the Debian package prometheus)');
}

# The scrape configuration and the alerts docs/operations.md shows.
{
    my $dir = $srv->{dir};
    my $promtool = -x '/usr/bin/promtool' ? '/usr/bin/promtool' : 'promtool';
    open my $fh, '<', "$FindBin::Bin/../docs/operations.md" or die "docs/operations.md: $!";
    my $doc = do { local $/; <$fh> };
    my @yaml = $doc =~ /^```yaml\n(.*?)^```/msg;
    my ($conf) = grep { /^scrape_configs:/m } @yaml;
    my ($rules) = grep { /^groups:/m } @yaml;
    my %out;
    for (['config', $conf], ['rules', $rules]) {
        my ($what, $text) = @$_;
        open my $o, '>', "$dir/doc-$what.yml" or die $!;
        print $o $text // '';
        close $o;
        my $res = `$promtool check $what $dir/doc-$what.yml 2>&1`;
        $out{$what} = "rc=" . ($? >> 8) . (defined $text ? '' : ' (no such block)');
        $out{$what} .= " $res" if $?;
    }
    ok t_cmp($out{config}, 'rc=0', 'the documented scrape configuration: promtool check config');
    ok t_cmp($out{rules}, 'rc=0', 'the documented alerts: promtool check rules');
}

# The other host serves the same, server-wide exposition.
{
    my $o = $http->get("http://127.0.0.1:$vport/pingone/metrics");
    ok t_cmp($o->{content} =~ /^pingone_consent_decisions_total\{server="\Q$main\E",outcome="deny:scope",source="pingone"\} 1$/m ? 1 : 0,
             1, "the other host's endpoint shows every host's decisions");
}

# A graceful restart: every host finds its slot again (by its label), so
# its series go on counting.
{
    my $gens = sub { my $l = $srv->{error_log}->(); scalar(() = $l =~ /resuming normal operations/g) };
    my $g = $gens->();
    system(Apache::Test::vars('httpd'), '-f', "$srv->{dir}/httpd.conf", '-k', 'graceful');
    for (1 .. 400) { last if $gens->() > $g; sleep 0.05 }
    my $st = 0;
    for (1 .. 100) { $st = get('/index.html', $U{alice}); last if $st != 599; sleep 0.05 }
    ok t_cmp($gens->() > $g ? $st : "no new generation ($st)", 200, 'after a graceful restart, alice again');
    for (1 .. 100) {
        $s = samples(scrape()->{content});
        last if dec_total($s) >= 9;
        sleep 0.1;
    }
    ok t_cmp(join(' ', dec_total($s), dec($main, 'allow', 'cache'), dec($vlabel, 'allow', 'fail-open')),
             '9 2 1', 'the counts went on under the same labels (9 decisions, a second cached allow)');
}

# HEAD: headers only; other methods: 405.
{
    my $h = $http->request('HEAD', "$base/pingone/metrics");
    ok t_cmp($h->{status} . ' ' . length($h->{content} // ''), '200 0', 'HEAD: no body');
    my $p = $http->request('POST', "$base/pingone/metrics");
    my $allow = $p->{headers}{allow} // '';
    ok t_cmp("$p->{status} " . ($allow =~ /\bGET\b/ && $allow =~ /\bHEAD\b/ && $allow !~ /POST/ ? 'GET+HEAD' : $allow),
             '405 GET+HEAD', "POST: 405, Allow: $allow");
}

# A real Prometheus server scrapes the endpoint (event MPM only: one run is
# enough, and it costs seconds).
if ($with_prometheus) {
    my $dir = "$srv->{dir}/prometheus";
    mkdir $dir;
    my $pport = free_port();
    open my $fh, '>', "$dir/prometheus.yml" or die $!;
    print $fh <<"EOY";
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: pingone_consent
    metrics_path: /pingone/metrics
    static_configs:
      - targets: ['127.0.0.1:$srv->{port}']
EOY
    close $fh;
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        open STDOUT, '>', "$dir/log" or die;
        open STDERR, '>&', \*STDOUT or die;
        exec('prometheus', "--config.file=$dir/prometheus.yml", "--storage.tsdb.path=$dir/data",
             "--web.listen-address=127.0.0.1:$pport", '--log.level=warn') or POSIX::_exit(127);
    }
    my $api = "http://127.0.0.1:$pport/api/v1";
    my ($health, $value, $server) = ('', '', '');
    my $t0 = time;
    while (time - $t0 < 90) {
        my $t = $http->get("$api/targets");
        if ($t->{status} == 200) {
            my $j = eval { decode_json($t->{content}) } || {};
            $health = $j->{data}{activeTargets}[0]{health} // '';
            if ($health eq 'up') {
                my $q = $http->get("$api/query?query=" .
                    'pingone_consent_decisions_total%7Boutcome%3D%22deny%3Ascope%22%2Csource%3D%22pingone%22%7D');
                my $qj = eval { decode_json($q->{content}) } || {};
                my $res = $qj->{data}{result}[0];
                if ($res) {
                    ($value, $server) = ($res->{value}[1], $res->{metric}{server});
                    last;
                }
            }
        }
        sleep 0.25;
    }
    kill 'TERM', $pid;
    waitpid($pid, 0);
    ok t_cmp($health, 'up', 'Prometheus scraped the endpoint: target up');
    ok t_cmp($value, '1', 'the sample arrived through the HTTP API (deny:scope = 1)');
    ok t_cmp($server, $main, 'with its server label');
}

$srv->{stop}->();
