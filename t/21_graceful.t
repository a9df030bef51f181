# The cache across `apachectl graceful`: entries survive, and 20 graceful
# restarts leak no shared memory and no lock files.  A full cache evicts
# the oldest entries without errors.
use strict;
use warnings FATAL => 'all';
use FindBin;
use lib "$FindBin::Bin/lib";
use Apache::Test;
use Apache::TestUtil;
use PCTest;
use HTTP::Tiny;
use Time::HiRes qw(sleep);

plan tests => 15;
sim_reset();

sub as { my ($id) = @_; req('/index.html', vhost => 'pc_cache', headers => {'X-Test-Sub' => $id}) }

my $pidfile = serverroot() . '/logs/httpd.pid';
sub parent_pid { open my $fh, '<', $pidfile or die "$pidfile: $!"; my $p = <$fh>; chomp $p; $p }

# Shared mappings of the parent, and files in the runtime directory.
sub shm_maps {
    my $pid = parent_pid();
    open my $fh, '<', "/proc/$pid/maps" or return -1;
    return scalar grep { (split ' ')[1] =~ /s/ } <$fh>;
}
sub runtime_files {
    opendir my $dh, serverroot() . '/logs' or return -1;
    return scalar grep { !/^\./ && !/_log$|\.port2?$|\.pid$|\.conf$/ } readdir $dh;
}
sub graceful {
    my $gen = generation();
    kill 'USR1', parent_pid();
    # Wait for the new generation to answer.
    for (1 .. 200) {
        sleep 0.05;
        last if generation() ne $gen;
    }
    for (1 .. 100) {
        my $r = req('/index.html', vhost => 'pc_cache');
        return if $r->{status} != 599;
        sleep 0.05;
    }
}
# The error log says "resuming normal operations" once per generation.
sub generation {
    open my $fh, '<', serverroot() . '/logs/error_log' or return 0;
    return scalar grep { /resuming normal operations/ } <$fh>;
}

my $who = 'e5000000-0000-4000-8000-000000000001';
sim(POST => '/__control/consents', {user_id => $who, application_id => $PCTest::APP1, scope => ['openid']});
my $r = as($who);
ok t_cmp($r->{status}, 200, 'a new user is allowed');
ok t_cmp($r->{headers}{'x-pc-source'}, 'pingone', 'from PingOne');

graceful();
sim(POST => '/__control/reset-counts');
$r = as($who);
ok t_cmp($r->{status}, 200, 'after a graceful restart: still allowed');
ok t_cmp($r->{headers}{'x-pc-source'}, 'cache', 'from the cache that survived the restart');
ok t_cmp(counts()->{consents}, 0, 'no PingOne call after the restart');
ok t_cmp(counts()->{token}, 0, 'and no new token: it survived too');

my ($maps, $files) = (shm_maps(), runtime_files());
die "cannot read the parent's memory map or the runtime directory\n"
    unless $maps > 0 && $files >= 0;
graceful() for 1 .. 20;
$r = as($who);
ok t_cmp($r->{status}, 200, 'alive after 20 more graceful restarts');
ok t_cmp(shm_maps(), $maps, "shared memory mappings of the parent unchanged ($maps)");
ok t_cmp(runtime_files(), $files, "files in the runtime directory unchanged ($files)");

# Fill the cache (512 decisions in this suite) well past its size.
my $http = HTTP::Tiny->new(keep_alive => 1, timeout => 30);
Apache::TestRequest::module('pc_cache');
my $hp = Apache::TestRequest::hostport();
Apache::TestRequest::module('default');
my $lm = log_mark();
my $bad = 0;
for my $i (1 .. 4000) {
    my $res = $http->get("http://$hp/index.html",
                         {headers => {'X-Test-Sub' => sprintf('e4000000-0000-4000-8000-%012d', $i)}});
    $bad++ unless $res->{status} == 403;
}
ok t_cmp($bad, 0, '4000 distinct users: all answered (403, unknown users)');
# (Earlier versions kept per-process copies that a purge dropped: the
# purge of some other user stays, harmless.)
my $pr = admin_post(
    'http://' . Apache::TestRequest::hostport() . '/pingone/admin',
    {action => 'purge-user', user => 'e4100000-0000-4000-8000-000000000001'});
die "admin purge: $pr->{status}\n" unless $pr->{status} == 200;
sim(POST => '/__control/reset-counts');
as(sprintf('e4000000-0000-4000-8000-%012d', $_)) for 1 .. 20;
my $again = counts()->{consents};
ok t_cmp($again >= 15 ? 1 : 0, 1, "the oldest entries were evicted: $again of the first 20 users needed PingOne again");
my $log = log_since($lm);
ok t_cmp(scalar(() = $log =~ /PC0002[23]|\[socache_shmcb:error\]/g), 0, 'eviction caused no cache errors');
# The cache holds 512 decisions in this suite: 4000 users evicted fresh
# ones, and that is counted, shown and logged, naming the directive.
my $st = HTTP::Tiny->new(timeout => 10)->get('http://' . Apache::TestRequest::hostport() . '/pingone/admin');
my ($cap) = ($st->{content} // '') =~ /"capacity":(\d+)/;
my ($fresh) = ($st->{content} // '') =~ /"evictions_fresh":(\d+)/;
ok t_cmp($cap // 0, 512, 'the admin status shows the capacity');
ok t_cmp(($fresh // 0) >= 1000 ? 1 : 0, 1, "and the fresh evictions (" . ($fresh // 'none') . ")");
ok t_cmp($log, qr/PC00028: the decision cache is full: \d+ decision\(s\) evicted while still fresh.*raise PingOneConsentCacheSize \(now 512 decisions\)/,
         'and logs it, naming the directive to raise');
