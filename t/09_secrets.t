# Secrets and tokens never appear in any log, at any level.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;

plan tests => 8;
sim_reset();

# Exercise token fetches, refreshes, failures and denials at debug level.
req('/consent/index.html', user => $U{alice});
sim(POST => '/__control/expire-tokens');
req('/consent/index.html', user => $U{bob});
req('/', user => $U{alice}, vhost => 'pc_post');
req('/', user => $U{alice}, vhost => 'pc_badsecret');
sim_fault(endpoint => 'consents', type => 'invalid_token', count => 2);
req('/consent/index.html', user => $U{alice});
sim_fault(endpoint => 'token', type => 'status', status => 500);
sim(POST => '/__control/expire-tokens');
req('/consent/index.html', user => $U{alice});
sleep 1;

my $tokens = sim(GET => '/__control/tokens');
ok t_cmp($tokens->{issued} >= 2, 1, 'tokens were issued during the test');

my $all = '';
for my $f (qw(error_log access_log decision_log sim_log)) {
    my $path = serverroot() . "/logs/$f";
    next unless -f $path;
    open my $fh, '<', $path or next;
    local $/;
    $all .= <$fh>;
}
ok t_cmp(length($all) > 1000 ? 1 : 0, 1, 'logs were read');
for my $secret ('s3cr3t-worker-secret', 'post-only-secret', 'not-the-secret') {
    ok t_cmp(index($all, $secret), -1, "'$secret' is in no log");
}
ok t_cmp(($all =~ /Bearer\s+\S/) ? 1 : 0, 0, 'no Bearer token in any log');
ok t_cmp(($all =~ /Authorization:/i) ? 1 : 0, 0, 'no Authorization header in any log');
ok t_cmp(($all =~ /access_token"?\s*[:=]\s*"?[A-Za-z0-9_\-.]{8,}/) ? 1 : 0, 0, 'no access_token value in any log');
