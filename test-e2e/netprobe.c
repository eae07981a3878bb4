// netprobe: sends the frames an attacker on a bridge sends, and watches what arrives.
// Busybox has no raw packet tools; test-e2e/net-isolation.test.ts builds this statically
// and puts it in its attack image. Every frame is written whole, Ethernet header first,
// through an AF_PACKET socket (packet(7)): what CAP_NET_RAW, in Docker's default
// capabilities, allows any container.
//
//   netprobe syn IFACE SMAC DMAC SIP DIP PORT       a TCP SYN; prints syn-ack, rst or silence
//                                                   (what came back from DIP:PORT in 1.5 s)
//   netprobe arp IFACE SMAC DMAC SHA SPA THA TPA    an ARP reply: "SPA is at SHA"
//   netprobe udp IFACE SMAC DMAC SIP DIP PORT TEXT  a UDP datagram
//   netprobe ra IFACE SMAC DMAC PREFIX LIFETIME     an ICMPv6 router advertisement to ff02::1,
//                                                   router lifetime LIFETIME s, announcing the
//                                                   /64 PREFIX for addresses (SLAAC)
//   netprobe listen IFACE MS                        prints a line for each ARP, UDP or ICMPv6
//                                                   RA frame IFACE receives in MS ms
//                                                   ("listening" first, once it is ready)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/if_ether.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char* what) {
  fprintf(stderr, "netprobe: %s: %s\n", what, strerror(errno));
  exit(2);
}

static void mac(const char* text, uint8_t out[6]) {
  if (sscanf(text, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &out[0], &out[1], &out[2], &out[3], &out[4], &out[5]) != 6) {
    fprintf(stderr, "netprobe: '%s' is not a MAC address\n", text);
    exit(2);
  }
}

static uint32_t ip4(const char* text) {
  struct in_addr a;
  if (inet_pton(AF_INET, text, &a) != 1) {
    fprintf(stderr, "netprobe: '%s' is not an IPv4 address\n", text);
    exit(2);
  }
  return a.s_addr;
}

static uint16_t checksum(const void* data, size_t len, uint32_t sum) {
  const uint8_t* p = data;
  for (; len > 1; p += 2, len -= 2) sum += (uint32_t)(p[0] << 8 | p[1]);
  if (len) sum += (uint32_t)(p[0] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons((uint16_t)~sum);
}

/** An AF_PACKET socket bound to IFACE, for every protocol. */
static int packet_socket(const char* iface, struct sockaddr_ll* where) {
  int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  if (fd < 0) die("socket(AF_PACKET)");
  memset(where, 0, sizeof *where);
  where->sll_family = AF_PACKET;
  where->sll_protocol = htons(ETH_P_ALL);
  where->sll_ifindex = (int)if_nametoindex(iface);
  if (where->sll_ifindex == 0) die(iface);
  if (bind(fd, (struct sockaddr*)where, sizeof *where) < 0) die("bind");
  return fd;
}

static void send_frame(int fd, struct sockaddr_ll* where, const uint8_t* frame, size_t len) {
  where->sll_halen = 6;
  memcpy(where->sll_addr, frame, 6);
  if (sendto(fd, frame, len, 0, (struct sockaddr*)where, sizeof *where) < 0) die("sendto");
}

static size_t ether(uint8_t* f, const char* smac, const char* dmac, uint16_t type) {
  mac(dmac, f);
  mac(smac, f + 6);
  f[12] = (uint8_t)(type >> 8);
  f[13] = (uint8_t)type;
  return 14;
}

static size_t ipv4(uint8_t* f, uint8_t proto, uint32_t src, uint32_t dst, size_t payload) {
  struct iphdr* ip = (struct iphdr*)f;
  memset(ip, 0, sizeof *ip);
  ip->version = 4;
  ip->ihl = 5;
  ip->ttl = 64;
  ip->protocol = proto;
  ip->tot_len = htons((uint16_t)(sizeof *ip + payload));
  ip->id = htons((uint16_t)getpid());
  ip->saddr = src;
  ip->daddr = dst;
  ip->check = checksum(ip, sizeof *ip, 0);
  return sizeof *ip;
}

static uint32_t pseudo4(uint32_t src, uint32_t dst, uint8_t proto, size_t len) {
  const uint8_t* s = (const uint8_t*)&src;
  const uint8_t* d = (const uint8_t*)&dst;
  return (uint32_t)(s[0] << 8 | s[1]) + (uint32_t)(s[2] << 8 | s[3]) + (uint32_t)(d[0] << 8 | d[1]) + (uint32_t)(d[2] << 8 | d[3]) + proto + (uint32_t)len;
}

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static int syn(char** a) {
  struct sockaddr_ll where;
  int fd = packet_socket(a[0], &where);
  uint32_t src = ip4(a[3]), dst = ip4(a[4]);
  uint16_t port = (uint16_t)atoi(a[5]), sport = (uint16_t)(40000 + getpid() % 20000);
  uint8_t f[128] = {0};
  size_t at = ether(f, a[1], a[2], ETH_P_IP);
  at += ipv4(f + at, IPPROTO_TCP, src, dst, sizeof(struct tcphdr));
  struct tcphdr* tcp = (struct tcphdr*)(f + at);
  tcp->source = htons(sport);
  tcp->dest = htons(port);
  tcp->seq = htonl(0x12345678);
  tcp->doff = 5;
  tcp->syn = 1;
  tcp->window = htons(64240);
  tcp->check = checksum(tcp, sizeof *tcp, pseudo4(src, dst, IPPROTO_TCP, sizeof *tcp));
  send_frame(fd, &where, f, at + sizeof *tcp);
  long long end = now_ms() + 1500;
  for (long long left; (left = end - now_ms()) > 0;) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, (int)left) <= 0) break;
    uint8_t in[2048];
    ssize_t n = recv(fd, in, sizeof in, 0);
    if (n < 14 + 20 + 20 || in[12] != 0x08 || in[13] != 0x00) continue;
    struct iphdr* ip = (struct iphdr*)(in + 14);
    if (ip->protocol != IPPROTO_TCP || ip->saddr != dst || ip->daddr != src) continue;
    struct tcphdr* t = (struct tcphdr*)(in + 14 + ip->ihl * 4);
    if (t->source != htons(port) || t->dest != htons(sport)) continue;
    puts(t->syn && t->ack ? "syn-ack" : t->rst ? "rst" : "other");
    return 0;
  }
  puts("silence");
  return 0;
}

static int arp(char** a) {
  struct sockaddr_ll where;
  int fd = packet_socket(a[0], &where);
  uint8_t f[64] = {0};
  size_t at = ether(f, a[1], a[2], ETH_P_ARP);
  struct ether_arp* r = (struct ether_arp*)(f + at);
  r->arp_hrd = htons(ARPHRD_ETHER);
  r->arp_pro = htons(ETH_P_IP);
  r->arp_hln = 6;
  r->arp_pln = 4;
  r->arp_op = htons(ARPOP_REPLY);
  mac(a[3], r->arp_sha);
  uint32_t spa = ip4(a[4]), tpa = ip4(a[6]);
  memcpy(r->arp_spa, &spa, 4);
  mac(a[5], r->arp_tha);
  memcpy(r->arp_tpa, &tpa, 4);
  send_frame(fd, &where, f, 60);
  return 0;
}

static int udp(char** a) {
  struct sockaddr_ll where;
  int fd = packet_socket(a[0], &where);
  uint32_t src = ip4(a[3]), dst = ip4(a[4]);
  size_t len = strlen(a[6]);
  if (len > 1000) len = 1000;
  uint8_t f[1100] = {0};
  size_t at = ether(f, a[1], a[2], ETH_P_IP);
  at += ipv4(f + at, IPPROTO_UDP, src, dst, sizeof(struct udphdr) + len);
  struct udphdr* u = (struct udphdr*)(f + at);
  u->source = htons(40001);
  u->dest = htons((uint16_t)atoi(a[5]));
  u->len = htons((uint16_t)(sizeof *u + len));
  memcpy(f + at + sizeof *u, a[6], len);
  u->check = checksum(u, sizeof *u + len, pseudo4(src, dst, IPPROTO_UDP, sizeof *u + len));
  send_frame(fd, &where, f, at + sizeof *u + len);
  return 0;
}

static int ra(char** a) {
  struct sockaddr_ll where;
  int fd = packet_socket(a[0], &where);
  uint8_t smac[6];
  mac(a[1], smac);
  struct in6_addr prefix;
  if (inet_pton(AF_INET6, a[3], &prefix) != 1) {
    fprintf(stderr, "netprobe: '%s' is not an IPv6 prefix\n", a[3]);
    return 2;
  }
  uint8_t f[256] = {0};
  size_t at = ether(f, a[1], a[2], ETH_P_IPV6);
  struct ip6_hdr* ip = (struct ip6_hdr*)(f + at);
  struct nd_router_advert* adv = (struct nd_router_advert*)(f + at + sizeof *ip);
  struct nd_opt_prefix_info* opt = (struct nd_opt_prefix_info*)(adv + 1);
  size_t len = sizeof *adv + sizeof *opt;
  ip->ip6_flow = htonl(6u << 28);
  ip->ip6_plen = htons((uint16_t)len);
  ip->ip6_nxt = IPPROTO_ICMPV6;
  ip->ip6_hlim = 255;  // RFC 4861: a router advertisement that crossed a router is ignored
  // The source: the link-local address of SMAC (EUI-64), as a router's own.
  uint8_t* s = ip->ip6_src.s6_addr;
  s[0] = 0xfe; s[1] = 0x80;
  s[8] = smac[0] ^ 2; s[9] = smac[1]; s[10] = smac[2]; s[11] = 0xff; s[12] = 0xfe; s[13] = smac[3]; s[14] = smac[4]; s[15] = smac[5];
  inet_pton(AF_INET6, "ff02::1", &ip->ip6_dst);
  adv->nd_ra_type = ND_ROUTER_ADVERT;
  adv->nd_ra_curhoplimit = 64;
  adv->nd_ra_router_lifetime = htons((uint16_t)atoi(a[4]));
  opt->nd_opt_pi_type = ND_OPT_PREFIX_INFORMATION;
  opt->nd_opt_pi_len = 4;
  opt->nd_opt_pi_prefix_len = 64;
  opt->nd_opt_pi_flags_reserved = ND_OPT_PI_FLAG_ONLINK | ND_OPT_PI_FLAG_AUTO;
  opt->nd_opt_pi_valid_time = htonl(3600);
  opt->nd_opt_pi_preferred_time = htonl(1800);
  opt->nd_opt_pi_prefix = prefix;
  uint32_t sum = (uint32_t)len + IPPROTO_ICMPV6;
  for (int i = 0; i < 16; i += 2) sum += (uint32_t)(ip->ip6_src.s6_addr[i] << 8 | ip->ip6_src.s6_addr[i + 1]) + (uint32_t)(ip->ip6_dst.s6_addr[i] << 8 | ip->ip6_dst.s6_addr[i + 1]);
  adv->nd_ra_cksum = checksum(adv, len, sum);
  send_frame(fd, &where, f, at + sizeof *ip + len);
  return 0;
}

static int listen_frames(char** a) {
  struct sockaddr_ll where;
  int fd = packet_socket(a[0], &where);
  puts("listening");
  fflush(stdout);
  long long end = now_ms() + atoi(a[1]);
  for (long long left; (left = end - now_ms()) > 0;) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, (int)left) <= 0) break;
    uint8_t in[2048];
    struct sockaddr_ll from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(fd, in, sizeof in, 0, (struct sockaddr*)&from, &fl);
    if (n < 14 || from.sll_pkttype == PACKET_OUTGOING) continue;
    uint16_t type = (uint16_t)(in[12] << 8 | in[13]);
    char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
    if (type == ETH_P_ARP && n >= 14 + (ssize_t)sizeof(struct ether_arp)) {
      struct ether_arp* r = (struct ether_arp*)(in + 14);
      inet_ntop(AF_INET, r->arp_spa, s, sizeof s);
      inet_ntop(AF_INET, r->arp_tpa, d, sizeof d);
      printf("arp op=%d sha=%02x:%02x:%02x:%02x:%02x:%02x spa=%s tpa=%s\n", ntohs(r->arp_op), r->arp_sha[0], r->arp_sha[1], r->arp_sha[2], r->arp_sha[3], r->arp_sha[4], r->arp_sha[5], s, d);
    } else if (type == ETH_P_IP && n >= 14 + 20 + 8) {
      struct iphdr* ip = (struct iphdr*)(in + 14);
      if (ip->protocol != IPPROTO_UDP) continue;
      struct udphdr* u = (struct udphdr*)(in + 14 + ip->ihl * 4);
      inet_ntop(AF_INET, &ip->saddr, s, sizeof s);
      inet_ntop(AF_INET, &ip->daddr, d, sizeof d);
      printf("udp src=%s dst=%s dport=%d\n", s, d, ntohs(u->dest));
    } else if (type == ETH_P_IPV6 && n >= 14 + 40 + 4) {
      struct ip6_hdr* ip = (struct ip6_hdr*)(in + 14);
      if (ip->ip6_nxt != IPPROTO_ICMPV6 || in[14 + 40] != ND_ROUTER_ADVERT) continue;
      inet_ntop(AF_INET6, &ip->ip6_src, s, sizeof s);
      printf("ra src=%s\n", s);
    } else {
      continue;
    }
    fflush(stdout);
  }
  return 0;
}

int main(int argc, char** argv) {
  const char* what = argc > 1 ? argv[1] : "";
  struct { const char* name; int args; int (*fn)(char**); } cmds[] = {
    {"syn", 6, syn}, {"arp", 7, arp}, {"udp", 7, udp}, {"ra", 5, ra}, {"listen", 2, listen_frames},
  };
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
    if (strcmp(what, cmds[i].name) != 0) continue;
    if (argc - 2 != cmds[i].args) break;
    return cmds[i].fn(argv + 2);
  }
  fprintf(stderr, "usage: netprobe syn|arp|udp|ra|listen ... (see the top of netprobe.c)\n");
  return 2;
}
