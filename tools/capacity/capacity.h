/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * perc-capacity: the capacity planner's model (docs/capacity.md).
 *
 * A scenario (conference sizes, media mix, subscription pattern, server
 * shape, headroom) gives packet and bit rates per stream class; a
 * calibration (cycles per ingress packet measured on the target hardware
 * by perf/calibrate.sh) turns them into worker cycles per second; the
 * plan turns rates and cycles into cores, NIC ports and servers and says
 * which resource runs out first. The arithmetic here is pure (no I/O) so
 * that the unit test can check it on hand-computed cases.
 */
#ifndef PERC_CAPACITY_H
#define PERC_CAPACITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/** Exit statuses (sysexits.h: EX_USAGE is 64, but the project uses 2 for
 *  usage; EX_CONFIG 78 for a bad scenario or calibration file). */
#define CAP_EX_OK 0
#define CAP_EX_FAIL 1
#define CAP_EX_USAGE 2
#define CAP_EX_CONFIG 78

/** @name Per-packet overheads in bytes (docs/capacity.md, "Overheads")
 *  @{ */
#define CAP_ETH_PREAMBLE_SFD 8  /**< preamble 7 + start frame delimiter 1 */
#define CAP_ETH_HEADER 14       /**< destination, source, EtherType (no VLAN tag) */
#define CAP_ETH_FCS 4           /**< frame check sequence */
#define CAP_ETH_IFG 12          /**< minimum inter-frame gap */
#define CAP_ETH_MIN_FRAME 64    /**< header + payload + FCS, padded up to this */
#define CAP_IPV4 20             /**< IPv4 header without options */
#define CAP_UDP 8
#define CAP_RTP 12              /**< fixed RTP header, no CSRC */
#define CAP_SRTP_TAGS 32        /**< double AES-128-GCM: inner 16 + outer 16 */
#define CAP_OHB 1               /**< RFC 8723 OHB config byte, nothing changed */
#define CAP_EKT_SHORT 1         /**< RFC 8870 Short EKT field */
/** @} */

#define CAP_MAX_GROUPS 64
#define CAP_MAX_LAYERS 8
#define CAP_MAX_FLOWS (2 + CAP_MAX_LAYERS)
#define CAP_MAX_POINTS 256
#define CAP_MAX_FITS 32

/** One line of the conference size distribution. */
struct cap_group {
	double count;     /**< conferences of this size */
	unsigned size;    /**< participants in each */
};

/** A media stream kind: payload bytes per packet and packets per second. */
struct cap_stream {
	double bitrate;   /**< RTP payload bits per second of one stream */
	double pps;       /**< packets per second of one stream */
	double payload;   /**< RTP payload bytes per packet (bitrate / 8 / pps) */
	double hdr_ext;   /**< RTP header extension bytes per packet */
};

/** A deployment scenario (docs/capacity.md, "Scenario file"). */
struct cap_scenario {
	char name[128];
	struct cap_group groups[CAP_MAX_GROUPS];
	unsigned n_groups;
	struct cap_stream audio;
	unsigned audio_receive;       /**< audio streams a participant receives; 0 = all */
	bool video;                   /**< any video */
	double video_senders;         /**< fraction of participants that send video */
	struct cap_stream layers[CAP_MAX_LAYERS]; /**< simulcast, lowest first */
	unsigned n_layers;
	unsigned video_receive;       /**< video streams a participant receives; 0 = all */
	unsigned video_top;           /**< of those, at the top layer (rest: layer 0); 0 = all */
	double screen_share;          /**< expected screen shares per conference (0..1) */
	struct cap_stream screen;
	double nic_gbps;              /**< line rate of one NIC port, each direction */
	unsigned ports_per_server;
	unsigned cores_per_server;    /**< worker cores per server */
	double headroom;              /**< fraction of every resource kept free */
};

/** Traffic of one stream class (audio, one video layer, screen share). */
struct cap_flow {
	char name[24];
	double payload;      /**< RTP payload bytes (cost model and wire size) */
	double hdr_ext;      /**< RTP header extension bytes */
	double wire_bytes;   /**< bytes on the wire per packet (cap_wire_bytes) */
	double ingress_pps;
	double egress_pps;
	double cycles_per_s; /**< worker cycles per second (cap_plan) */
};

/** Rates of a set of conferences: per class and in total. */
struct cap_rates {
	struct cap_flow flows[CAP_MAX_FLOWS];
	unsigned n_flows;
	double ingress_pps, egress_pps;
	double ingress_bps, egress_bps;          /**< on the wire, Ethernet overhead in */
	double ingress_payload_bps, egress_payload_bps; /**< RTP payload only */
	double streams;                          /**< sending SSRCs (ingress streams) */
};

/** One measured point of the cost model. */
struct cap_point {
	double payload, fanout;
	double cycles_per_ingress;
	double streams;      /**< sending SSRCs in the measurement (0: not given) */
};

#define CAP_MAX_CURVE 32

/** The measured cost at one payload: cycles per ingress packet at each
 *  measured fan-out (ascending; repeated fan-outs averaged). Between two
 *  fan-outs the cost is the line through them, cycles = a + b * fan-out;
 *  outside them the nearest segment's line goes on. */
struct cap_curve {
	double payload;
	unsigned n;
	double fanout[CAP_MAX_CURVE];
	double cycles[CAP_MAX_CURVE];
};

/** A calibration (docs/capacity.md, "Calibration file"). */
struct cap_calib {
	char cpu_model[128];
	char ipsec_mb[64];
	char arch[32];
	char dpdk[64];
	char git_commit[64];
	char date[40];
	double tsc_hz;
	double nominal_hz;   /**< 0 when the CPU does not state it */
	double budget_hz;    /**< cycles one worker core has per second */
	unsigned cpus;
	struct cap_point points[CAP_MAX_POINTS];
	unsigned n_points;
	double max_streams;  /**< the most streams any point was measured with */
	struct cap_curve curves[CAP_MAX_FITS]; /**< by payload, ascending */
	unsigned n_curves;
};

enum cap_resource { CAP_RES_CPU, CAP_RES_NIC_IN, CAP_RES_NIC_OUT, CAP_RES_N };

/** The plan: what the scenario needs and what is left. */
struct cap_plan {
	struct cap_rates rates;
	double cycles_per_s;                 /**< worker cycles per second, all servers */
	double cores_exact;                  /**< cycles_per_s / budget_hz */
	unsigned cores;                      /**< cores needed with the headroom kept */
	unsigned ports;                      /**< NIC ports needed with the headroom kept */
	unsigned servers;
	unsigned servers_by[CAP_RES_N];      /**< servers each resource alone needs */
	double load[CAP_RES_N];              /**< cycles/s or bits/s */
	double capacity[CAP_RES_N];          /**< of the planned servers, all of it */
	double utilisation[CAP_RES_N];       /**< load / capacity */
	double headroom_left[CAP_RES_N];     /**< 1 - utilisation */
	enum cap_resource first_out;         /**< highest utilisation */
	double scale_to_target;              /**< load factor at which the first resource
					      *  reaches 1 - headroom on these servers */
	double streams_per_server;           /**< sending SSRCs per planned server */
	bool streams_beyond;                 /**< more than 10x the calibration's streams */
	/* the largest conference must fit on one server (no cascading) */
	unsigned largest_size;
	double largest_util;                 /**< its highest utilisation of one server */
	bool largest_fits;
};

/** Name of a resource ("cpu", "nic_ingress", "nic_egress"). */
const char *cap_resource_name(enum cap_resource r);

/** Bytes on the wire of one media packet with @p payload RTP payload bytes
 *  and @p hdr_ext header extension bytes: RTP, OHB, tags, Short EKT, UDP,
 *  IPv4, Ethernet header and FCS (frame padded to 64), preamble, SFD, IFG. */
double cap_wire_bytes(double payload, double hdr_ext);

/** Fill the stream's missing one of bitrate / pps / payload from the other
 *  two. Returns 0, or -1 when fewer than two are set (> 0). */
int cap_stream_complete(struct cap_stream *s);

/** Rates of @p count conferences of @p size participants. */
void cap_rates_conference(const struct cap_scenario *sc, unsigned size, double count,
			  struct cap_rates *out);

/** Rates of the whole scenario (every group). */
void cap_rates_scenario(const struct cap_scenario *sc, struct cap_rates *out);

/** Build the calibration's curves from its points (one per payload).
 *  Returns 0, or -1 with @p err filled when a payload has fewer than two
 *  distinct fan-outs (the model needs a slope) or there are too many. */
int cap_calib_fit(struct cap_calib *c, char *err, size_t errlen);

/** Cycles per ingress packet of one curve at @p fanout, and the local
 *  line (a, b) it comes from (either may be NULL). */
double cap_curve_eval(const struct cap_curve *k, double fanout, double *a, double *b);

/** Cycles per ingress packet at @p payload and @p fanout: each curve at
 *  the fan-out, then linear in the payload between the two curves around
 *  it (or the nearest two, extrapolated); never below 0. */
double cap_cycles_per_ingress(const struct cap_calib *c, double payload, double fanout);

/** Worker cycles per second of @p r, written into each flow and summed:
 *  ingress_pps x cap_cycles_per_ingress(payload + header extension, mean
 *  fan-out of the flow). The cost is not linear in the fan-out, so @p r
 *  must hold conferences of one size (one flow, one fan-out); cap_plan
 *  sums the groups. The payload of the model is what is encrypted behind
 *  the fixed RTP header. */
double cap_cycles_per_second(const struct cap_calib *c, struct cap_rates *r);

/** The plan of @p sc with @p c. */
void cap_plan(const struct cap_scenario *sc, const struct cap_calib *c, struct cap_plan *p);

/** @name Loading (load.c): JSON or YAML into the structs.
 *  Errors go to @p err as "FILE: [line N: ]field F: what; what to do".
 *  @{ */
/** Parse a JSON or YAML file (by extension .yaml/.yml, else by content)
 *  into a jansson tree. Returns NULL with @p err filled. */
json_t *cap_load_tree(const char *path, char *err, size_t errlen);
/** Scenario from a tree. Returns 0 or -1 with @p err filled. */
int cap_scenario_from_json(const json_t *j, const char *path, struct cap_scenario *sc,
			   char *err, size_t errlen);
/** Calibration from a tree, fitted. Returns 0 or -1 with @p err filled. */
int cap_calib_from_json(const json_t *j, const char *path, struct cap_calib *c,
			char *err, size_t errlen);
/** Both from a file. */
int cap_scenario_load(const char *path, struct cap_scenario *sc, char *err, size_t errlen);
int cap_calib_load(const char *path, struct cap_calib *c, char *err, size_t errlen);
/** @} */

/** @name Output (report.c)
 *  @{ */
json_t *cap_plan_json(const struct cap_scenario *sc, const struct cap_calib *c,
		      const struct cap_plan *p);
void cap_plan_table(FILE *f, const struct cap_scenario *sc, const struct cap_calib *c,
		    const struct cap_plan *p);
/** SVG: utilisation per resource against the headroom line, and servers
 *  needed per resource as the load scales. Returns 0 or -1 (errno). */
int cap_plan_svg(const char *path, const struct cap_scenario *sc, const struct cap_calib *c,
		 const struct cap_plan *p);
/** @} */

#endif
