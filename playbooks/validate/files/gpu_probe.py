# Run inside a Slurm job step: what the job was given, and whether the device
# cgroup lets it open each GPU device file (read by aihpc.cluster.measure).
# OK: opened (a driver is behind it); ENXIO: allowed, no driver (fake GPUs);
# EPERM: denied by the cgroup.
import errno
import glob
import os
import shutil
import subprocess

print("CVD=" + os.environ.get("CUDA_VISIBLE_DEVICES", ""))
for dev in sorted(glob.glob("/dev/nvidia[0-9]*"), key=lambda p: int(p[len("/dev/nvidia") :])):
    try:
        os.close(os.open(dev, os.O_RDWR))
        how = "OK"
    except OSError as exc:
        how = errno.errorcode.get(exc.errno or 0, str(exc.errno))
    print(dev, how)
if shutil.which("nvidia-smi"):
    listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout
    print(f"SMI_GPUS={sum(1 for line in listed.splitlines() if line.startswith('GPU '))}")
