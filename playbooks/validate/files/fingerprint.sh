#!/bin/sh
# Versions on this node, as key=value lines (read by aihpc.cluster.measure).
# A tool that is not installed prints nothing: the report says n/a for it.
have() { command -v "$1" >/dev/null 2>&1; }
first() { head -n1 | tr -d '\r'; }

echo "kernel=$(uname -r)"
for tool in slurmd slurmctld; do
  if have "$tool"; then echo "slurm=$("$tool" -V 2>/dev/null | awk '{print $2}' | first)"; break; fi
done
if ! have slurmd && ! have slurmctld && have sinfo; then
  echo "slurm=$(sinfo --version 2>/dev/null | awk '{print $2}' | first)"
fi
if have nvidia-smi; then
  if out=$(nvidia-smi --query-gpu=driver_version,vbios_version,name --format=csv,noheader 2>&1); then
    echo "driver=$(echo "$out" | first | cut -d, -f1 | tr -d ' ')"
    echo "gpu_vbios=$(echo "$out" | cut -d, -f2 | tr -d ' ' | sort -u | paste -sd' ')"
    echo "gpu_model=$(echo "$out" | cut -d, -f3 | sed 's/^ *//' | sort -u | paste -sd'/')"
    echo "cuda=$(nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9.]*\).*/\1/p' | first)"
  else
    # Driver/NVML mismatch after an upgrade without a reboot shows up here.
    echo "nvidia_smi_error=$(echo "$out" | first)"
  fi
fi
if have dpkg-query; then
  nccl=$(dpkg-query -W -f='${Version}' libnccl2 2>/dev/null) && echo "nccl=$nccl"
  if ! have ofed_info; then
    rdma=$(dpkg-query -W -f='${Version}' rdma-core 2>/dev/null) && echo "ofed=rdma-core $rdma"
  fi
fi
if have ofed_info; then echo "ofed=$(ofed_info -s 2>/dev/null | tr -d ':' | first)"; fi
fw=""
for dev in /sys/class/infiniband/*; do
  [ -r "$dev/fw_ver" ] && fw="$fw ${dev##*/}:$(cat "$dev/fw_ver")"
done
[ -n "$fw" ] && echo "hca_fw=${fw# }"
exit 0
