# The worker token: fetched once and reused; client_secret_basic and
# client_secret_post; a secret from env: works.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;
use HTTP::Tiny;

plan tests => 6;
sim_reset();

# One keep-alive connection stays with one process (and under the threaded
# MPMs, one process holds the token for all its threads).
my $http = HTTP::Tiny->new(max_redirect => 0, keep_alive => 1);
# The reset made PingOne forget the module's token: one request to renew it.
req('/consent/index.html', user => $U{alice}, http => $http);
sim(POST => '/__control/reset-counts');
my $ok = 0;
for (1 .. 10) {
    my $r = req('/consent/index.html', user => $U{alice}, http => $http);
    $ok++ if $r->{status} == 200;
}
ok t_cmp($ok, 10, 'ten allowed requests');
my $c = counts();
ok t_cmp($c->{consents}, 10, 'ten consent calls (no cache yet)');
ok t_cmp($c->{token}, 0, 'no token call: the token is reused');

# The post-only client: a Basic attempt would be refused by PingOne.
sim(POST => '/__control/reset-counts');
my $r = req('/index.html', user => $U{alice}, vhost => 'pc_post');
ok t_cmp($r->{status}, 200, 'PingOneClientAuthMethod post (secret from env:) -> 200');
$r = req('/index.html', user => $U{bob}, vhost => 'pc_post');
ok t_cmp($r->{status}, 403, 'and bob is still denied there');
ok t_cmp(counts()->{token} >= 1, 1, 'the post client obtained a token');
