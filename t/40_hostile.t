# Hostile input, each a safe deny (or 503) with a clear log line: odd user
# values, upstream bodies that are not what PingOne sends, a slow-drip
# answer, and TLS with an untrusted certificate.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;
use Time::HiRes qw(time);

plan tests => 20;
sim_reset();

sub env_user { my ($u, $vhost) = @_; req($vhost ? '/index.html' : '/envonly/index.html', vhost => $vhost || 'default', headers => {'X-Test-Sub' => $u}) }

# User values that must never reach PingOne.
sim(POST => '/__control/reset-counts');
for my $u ('a"b', '../../x', '%2F', 'e0000000-0000-4000-8000-00000000a11c/..', ('x' x 8000)) {
    my $m = decision_mark();
    my $lm = log_mark();
    my $r = env_user($u);
    my $what = length($u) > 40 ? length($u) . '-byte user' : "user '$u'";
    ok t_cmp($r->{status}, 403, "$what -> 403");
    ok t_cmp(log_since($lm, qr/PC00106/), qr/PC00106: user .* is not a PingOne user ID/, "$what: logged");
}
ok t_cmp(counts()->{consents}, 0, 'none of them reached PingOne');

# Upstream bodies.
my @bodies = (
    ["\xff\xfe{\"x\":1}", 'non-UTF-8 bytes'],
    ['{"_embedded":{"oauthConsents":[{"id":"x","status":"ACCEPTED","scope":["openid"],"status":"REVOKED"}]}}', 'duplicate keys'],
    ['{"_embedded":{"oauthConsents":[{"id":"x","status":"ACCEPTED","scope":[{"a":1}]}]}}', 'scope of objects'],
);
for my $b (@bodies) {
    sim_fault(endpoint => 'consents', type => 'body', body => $b->[0]);
    my $r = req('/consent/index.html', user => $U{alice});
    ok t_cmp($r->{status} == 503 || $r->{status} == 403 ? 1 : 0, 1, "$b->[1]: safe answer ($r->{status}), never an allow");
}

# Slow drip: bounded by PingOneTimeout (1500 ms here).
sim_fault(endpoint => 'consents', type => 'slow_drip', interval_ms => 200);
my $t0 = time;
my $r = req('/consent/index.html', user => $U{alice});
my $took = time - $t0;
ok t_cmp($r->{status}, 503, 'slow-drip answer -> 503');
ok t_cmp($took < 4 ? 1 : 0, 1, sprintf('bounded by the timeout (%.1f s)', $took));
sim(DELETE => '/__control/faults');

# TLS: verification on by default; an untrusted certificate is refused.
my $lm = log_mark();
$r = env_user($U{alice}, 'pc_tls_untrusted');
ok t_cmp($r->{status}, 503, 'self-signed PingOne certificate, verification on -> 503');
ok t_cmp(log_since($lm, qr/PC00111/), qr/PC00111: .*(?i:certificate|SSL)/, 'logged as a certificate problem');
$r = env_user($U{alice}, 'pc_tls_trusted');
ok t_cmp($r->{status}, 200, 'the same with PingOneCACertificateFile -> 200');
ok t_cmp($r->{headers}{'x-pc-source'}, 'pingone', 'answered over TLS');
