# PingOneConsentDenyRedirect with PingOneConsent On.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;

plan tests => 6;
sim_reset();

my $m = decision_mark();
my $r = req('/redirect/index.html?a=1&b=two', user => $U{bob});
ok t_cmp($r->{status}, 302, 'bob (revoked) is redirected');
my $loc = $r->{headers}{location} // '';
ok t_cmp($loc, qr{^https://consent\.example\.test/grant\?client=portal&return_to=}, 'to the configured URL, keeping its query');
ok t_cmp($loc, qr{return_to=http%3A%2F%2F127\.0\.0\.1%3A\d+%2Fredirect%2Findex\.html%3Fa%3D1%26b%3Dtwo$|return_to=http%3A%2F%2Flocalhost%3A\d+%2Fredirect%2Findex\.html%3Fa%3D1%26b%3Dtwo$},
         'return_to is the original URL, URL-encoded');
ok t_cmp($r->{headers}{'cache-control'}, 'no-store', 'the redirect is not cacheable');
my ($line) = decision_since($m);
ok t_cmp($line, qr/ 302 deny:revoked /, 'note deny:revoked');

$r = req('/redirect/index.html', user => $U{alice});
ok t_cmp($r->{status}, 200, 'alice is not redirected');
