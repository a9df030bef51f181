# PingOneConsentUserIs username and PingOneConsentApplicationName: names
# are SCIM-escaped and URL-encoded, never spliced raw into a filter.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;

plan tests => 16;
sim_reset();

my $r = req('/username/index.html', user => 'alice');
ok t_cmp($r->{status}, 200, 'username alice resolves and is allowed');
ok t_cmp($r->{headers}{'x-pc-user'}, $U{alice}, 'PINGONE_USER_ID is the resolved ID');
$r = req('/username/index.html', user => 'Alice.Smith@Example.com');
ok t_cmp($r->{status}, 200, 'username with @ and dots');
ok t_cmp($r->{headers}{'x-pc-user'}, $U{smith}, 'resolved to the right user');
$r = req('/username/index.html', user => 'bob');
ok t_cmp($r->{status}, 403, 'bob (revoked) -> 403');

my $m = decision_mark();
sim(POST => '/__control/reset-counts');
$r = req('/username/index.html', user => 'nobody');
ok t_cmp($r->{status}, 403, 'unknown username -> 403');
my ($line) = decision_since($m);
ok t_cmp($line, qr/ 403 deny:unknown-user /, 'note deny:unknown-user');
ok t_cmp(counts()->{consents}, 0, 'no consent lookup for an unknown user');

# Hostile names: the simulator parses the escaped filter (a raw quote
# would be a 400 INVALID_FILTER -> 503 here) and finds nobody.
for my $name ('bad"name', 'x" or username pr "') {
    sim(POST => '/__control/reset-counts');
    $m = decision_mark();
    $r = req('/username/index.html', user => $name);
    ok t_cmp($r->{status}, 403, "username '$name' -> 403, not 503");
    ($line) = decision_since($m);
    ok t_cmp($line, qr/ 403 deny:unknown-user /, "'$name': escaped filter, unknown user");
}

# Application by name (the name contains double quotes).
$r = req('/byname/index.html', user => $U{grace});
ok t_cmp($r->{status}, 200, 'grace consented to Reports "Beta" -> 200');
ok t_cmp($r->{headers}{'x-pc-app'}, 'Reports "Beta"', 'PINGONE_APPLICATION_NAME');
$r = req('/byname/index.html', user => $U{alice});
ok t_cmp($r->{status}, 403, 'alice has no consent for that application -> 403');
ok t_cmp(sim(GET => '/__control/counts')->{unknown}, 0, 'no malformed request reached the simulator');
