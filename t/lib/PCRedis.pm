package PCRedis;
# Real Redis servers and sentinels for the farm tests, started by the
# tests themselves on free loopback ports (config files and logs under a
# directory of the test), a small RESP client to look at and tamper with
# what the module stores, and the module's own key, frame and seal formats
# (src/pc_farm.h, src/pc_hmac.h) so a test can forge entries.
use strict;
use warnings;
use Exporter 'import';
use IO::Socket::INET;
use POSIX ();
use Digest::SHA qw(sha1_hex hmac_sha256);
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(free_port start_redis start_sentinel stop_proc redis
                    entry_key seal key_id wait_for);

my @procs;
END { local $?; my @p = @procs; stop_proc($_) for @p }

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0)
        or die "no free port: $!";
    return $s->sockport;
}

# wait_for(SECONDS, CODE): until CODE returns true (then that value), or
# undef after SECONDS.
sub wait_for {
    my ($secs, $code) = @_;
    my $end = time + $secs;
    while (time < $end) {
        my $v = $code->();
        return $v if $v;
        sleep 0.05;
    }
    return undef;
}

sub _spawn {
    my ($log, @argv) = @_;
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        open STDOUT, '>>', $log;
        open STDERR, '>&', \*STDOUT;
        { exec @argv }
        POSIX::_exit(127);
    }
    push @procs, $pid;
    return $pid;
}

sub stop_proc {
    my ($pid) = @_;
    return unless $pid;
    kill 'CONT', $pid;
    kill 'KILL', $pid;
    waitpid($pid, 0);
    @procs = grep { $_ != $pid } @procs;
}

# start_redis(dir => D, port => P, password => PW, users => [ACL lines],
#             replicaof => MASTER-PORT): a redis-server that answers PING.
sub start_redis {
    my (%o) = @_;
    my $port = $o{port} || free_port();
    my $conf = "$o{dir}/redis-$port.conf";
    open my $fh, '>', $conf or die "$conf: $!";
    print $fh "port $port\nbind 127.0.0.1\nsave \"\"\nappendonly no\n",
              "dir $o{dir}\ndbfilename redis-$port.rdb\nlogfile \"\"\n";
    print $fh "requirepass $o{password}\nmasterauth $o{password}\n" if $o{password};
    print $fh "user $_\n" for @{ $o{users} || [] };
    print $fh "replicaof 127.0.0.1 $o{replicaof}\n" if $o{replicaof};
    close $fh;
    my $pid = _spawn("$o{dir}/redis-$port.log", 'redis-server', $conf);
    my $up = wait_for(10, sub {
        my $r = eval { redis($port, password => $o{password}) };
        $r && ($r->cmd('PING') // '') eq 'PONG';
    });
    die "redis-server on port $port did not start (see $o{dir}/redis-$port.log)\n" unless $up;
    return {port => $port, pid => $pid, password => $o{password}};
}

# start_sentinel(dir => D, master => NAME, master_port => P, password =>
# the master's, sentinel_password => its own): answers PING.
sub start_sentinel {
    my (%o) = @_;
    my $port = free_port();
    my $conf = "$o{dir}/sentinel-$port.conf";
    open my $fh, '>', $conf or die "$conf: $!";
    print $fh "port $port\nbind 127.0.0.1\ndir $o{dir}\nlogfile \"\"\n",
              "sentinel monitor $o{master} 127.0.0.1 $o{master_port} 2\n",
              "sentinel down-after-milliseconds $o{master} 1000\n",
              "sentinel failover-timeout $o{master} 10000\n";
    print $fh "sentinel auth-pass $o{master} $o{password}\n" if $o{password};
    print $fh "requirepass $o{sentinel_password}\nsentinel sentinel-pass $o{sentinel_password}\n"
        if $o{sentinel_password};
    close $fh;
    my $pid = _spawn("$o{dir}/sentinel-$port.log", 'redis-sentinel', $conf);
    my $up = wait_for(10, sub {
        my $r = eval { redis($port, password => $o{sentinel_password}) };
        $r && ($r->cmd('PING') // '') eq 'PONG';
    });
    die "redis-sentinel on port $port did not start\n" unless $up;
    return {port => $port, pid => $pid};
}

# redis(PORT, password => PW, user => U): a connection (dies when it
# cannot connect or log in).
sub redis {
    my ($port, %o) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 5)
        or die "connect to redis $port: $!\n";
    my $self = bless {sock => $sock}, __PACKAGE__;
    if (defined $o{password}) {
        my $r = $self->cmd('AUTH', defined $o{user} ? ($o{user}) : (), $o{password});
        die "AUTH to $port: $r->{error}\n" if ref $r eq 'HASH';
    }
    return $self;
}

# cmd(ARGS...): the reply - a string, a number, undef (nil), an array
# reference, or {error => TEXT}.  Binary-safe.
sub cmd {
    my ($self, @args) = @_;
    my $out = '*' . scalar(@args) . "\r\n";
    $out .= '$' . length($_) . "\r\n$_\r\n" for @args;
    $self->{sock}->print($out) or die "redis write: $!";
    return $self->_reply;
}

sub _line {
    my ($self) = @_;
    my $l = $self->{sock}->getline;
    die "redis: connection closed\n" unless defined $l;
    $l =~ s/\r\n\z//;
    return $l;
}

sub _reply {
    my ($self) = @_;
    my $l = $self->_line;
    my ($t, $rest) = (substr($l, 0, 1), substr($l, 1));
    return $rest if $t eq '+';
    return {error => $rest} if $t eq '-';
    return 0 + $rest if $t eq ':';
    if ($t eq '$') {
        return undef if $rest < 0;
        my $buf = '';
        while (length($buf) < $rest + 2) {
            my $n = $self->{sock}->read($buf, $rest + 2 - length($buf), length($buf));
            die "redis: short read\n" unless $n;
        }
        return substr($buf, 0, $rest);
    }
    if ($t eq '*') {
        return undef if $rest < 0;
        return [map { $self->_reply } 1 .. $rest];
    }
    die "redis: unexpected reply '$l'\n";
}

# The Redis key of a decision (src/pc_cache.c pc_cache_key, src/pc_farm.h):
# kind 1 (consent), the environment (with "|<epoch>" after a purge-all),
# the user ID, the application.
sub entry_key {
    my ($env, $user, $app, $epoch) = @_;
    $env .= "|$epoch" if $epoch;
    return 'pc:' . sha1_hex(chr(1) . $env . "\0" . lc($user) . "\0" . $app);
}

# src/pc_hmac.h: the key-id byte and the seal of a value under a key.
sub key_id { substr(hmac_sha256('pc-key-id', $_[0]), 0, 1) }
sub seal {
    my ($secret, $key, $value) = @_;
    my $id = key_id($secret);
    my $tag = hmac_sha256('PCH1' . pack('N', length $key) . $key .
                          pack('N', length $value) . $value . $id, $secret);
    return $value . $id . $tag;
}

1;
