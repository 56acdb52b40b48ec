import type { ButtonHTMLAttributes } from 'react';
import { cx } from './cx.js';
import styles from './Button.module.css';

interface Props extends ButtonHTMLAttributes<HTMLButtonElement> {
  variant?: 'primary' | 'secondary' | 'ghost';
}

export function Button({ variant = 'secondary', className, type = 'button', ...rest }: Props) {
  return <button type={type} className={cx(styles.button, styles[variant], className)} {...rest} />;
}
