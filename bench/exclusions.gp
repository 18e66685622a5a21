# Plot of bench/apply.sh's sweep: apply time against the number of excluded
# CIDRs. Call: gnuplot -e "datafile='sweep.dat'; outfile='x.png'" exclusions.gp
# datafile columns: cidrs, median ms of meshcap, nft -f, iptables (6 execs),
# iptables-legacy-restore + ip6tables-legacy-restore only (not plotted), the
# floor, meshcap --backend iptables, the 6 commands on iptables-nft, meshcap
# --backend iptables --ipset off. The x axis is
# categorical (one tick per measured point), so 0 and 100 do not collide.
set terminal pngcairo size 900,560 font "DejaVu Sans,11" noenhanced
set output outfile
set title "Programming the capture rules in a fresh network namespace\n(median wall time per run, including exec; lower is better)"
set xlabel "excluded outbound CIDRs (--exclude-outbound-cidrs); points evenly spaced, not to scale"
set ylabel "wall time, ms (log scale)"
set logscale y
set yrange [1:1000]
set format y "%g"
set grid ytics mytics
set key top left box opaque
set offsets 0.2, 0.2, 0, 0
plot datafile using 0:6:xtic(1) with lines dt 2 lw 2 lc rgb "#808080" title "floor: one create + delete table batch (bench/floor.c)", \
     datafile using 0:4 with linespoints lw 2 pt 7 title "istio-iptables style, legacy: 2 saves, 2 restores, 2 saves", \
     datafile using 0:8 with linespoints lw 2 pt 6 title "istio-iptables style, iptables-nft: the same 6 commands", \
     datafile using 0:3 with linespoints lw 2 pt 9 title "nft -f of meshcap's dry-run script", \
     datafile using 0:9 with linespoints lw 2 pt 4 title "meshcap apply --backend iptables --ipset off (one rule per CIDR)", \
     datafile using 0:7 with linespoints lw 2 pt 5 title "meshcap apply --backend iptables (an ipset above 64 CIDRs)", \
     datafile using 0:2 with linespoints lw 2 pt 13 title "meshcap apply (nft; IPv4+IPv6, verify rules)"
